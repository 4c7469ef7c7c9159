package main

import (
	"os"

	"github.com/spf13/cobra"

	"pointage/demo"
)

var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:          "pointage-hub",
		Short:        "The pointage hub: broker, ingest, counts, dashboard and exports",
		Version:      version,
		SilenceUsage: true,
	}
	root.AddCommand(demoCmd())
	return root
}

// env returns POINTAGE_<NAME> or def.
func env(name, def string) string {
	if v := os.Getenv("POINTAGE_" + name); v != "" {
		return v
	}
	return def
}

func demoCmd() *cobra.Command {
	var mqttListen, dataDir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a simulated school through a real agent and the embedded broker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return demo.Run(cmd.Context(), demo.Options{MQTTListen: mqttListen, DataDir: dataDir, Out: cmd.OutOrStdout()})
		},
	}
	cmd.Flags().StringVar(&mqttListen, "mqtt-listen", env("MQTT_LISTEN", ":1883"), "embedded MQTT broker address (a free port if taken); env POINTAGE_MQTT_LISTEN")
	cmd.Flags().StringVar(&dataDir, "data-dir", env("DATA_DIR", ""), "data folder (default: a temporary folder); env POINTAGE_DATA_DIR")
	return cmd
}
