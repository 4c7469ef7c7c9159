package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"pointage/internal/logs"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"pointage/agent"
	"pointage/agent/outbox"
	"pointage/agent/reader"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "pointage-agent",
		Short:         "Badge readers -> durable outbox -> MQTT check-ins for the pointage hub",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(runCmd(), portsCmd(), listenCmd(), profilesCmd(), outboxCmd(), serviceCmd(), enrolCmd())
	return root
}

// configPath returns --config, or POINTAGE_AGENT_CONFIG.
func configPath(flag string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv(agent.EnvPrefix + "CONFIG")
}

func newLogger(level, format string) *slog.Logger { return logs.New(os.Stderr, level, format) }

func runCmd() *cobra.Command {
	var cfgFile string
	cmd := &cobra.Command{
		Use:   "run --config FILE",
		Short: "Run the agent: read badges, store them, publish them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := agent.LoadConfig(configPath(cfgFile), os.Getenv)
			if err != nil {
				return err
			}
			return runAgent(cmd.Context(), cfg, os.Stderr)
		},
	}
	cmd.Flags().StringVar(&cfgFile, "config", "", "agent configuration file (YAML); env "+agent.EnvPrefix+"CONFIG")
	return cmd
}

// runAgent runs the agent of cfg until ctx ends, logging to logw: the
// console for run, the log file for the Windows service.
func runAgent(ctx context.Context, cfg agent.Config, logw io.Writer) error {
	log := logs.New(logw, cfg.Log.Level, cfg.Log.Format)
	a, err := agent.New(cfg, agent.Options{Logger: log, Version: version})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func portsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ports",
		Short: "List serial ports with their USB VID:PID, serial number and product",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ports, err := reader.ListPorts()
			if err != nil {
				return fmt.Errorf("list serial ports: %w", err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(ports)
			}
			if len(ports) == 0 {
				fmt.Fprintln(out, "no serial port found (is the reader plugged in? on Linux, is the user in the dialout group?)")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PORT\tUSB\tSERIAL\tPRODUCT\tCONFIG")
			for _, p := range ports {
				usb, spec := "-", p.Name
				if p.IsUSB {
					usb = p.VID + ":" + p.PID
					spec = "usb:" + strings.ToLower(p.VID+":"+p.PID)
					if p.SerialNumber != "" {
						spec += ":" + p.SerialNumber
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, usb, dash(p.SerialNumber), dash(p.Product), spec)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func listenCmd() *cobra.Command {
	var port, profile, profilesDir string
	var debounce time.Duration
	cmd := &cobra.Command{
		Use:   "listen --port PORT --profile NAME",
		Short: "Print the badges a reader decodes; nothing is stored or sent (for installers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			profiles, err := reader.Load(profilesDir)
			if err != nil {
				return err
			}
			p, ok := profiles[profile]
			if !ok {
				return fmt.Errorf("--profile: unknown profile %q; known: %s", profile, strings.Join(profileNames(profiles), ", "))
			}
			log := newLogger("warn", "text")
			r, err := reader.New(reader.Config{Name: "listen", Port: port, Profile: p, Debounce: debounce}, log)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "listening on %s with profile %s; badge a card (Ctrl-C to stop)\n", port, p.Name)
			scans := make(chan reader.Scan)
			errc := make(chan error, 1)
			go func() { errc <- r.Run(cmd.Context(), scans) }()
			var lastRejected uint64
			var wasConnected bool
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case s := <-scans:
					fmt.Fprintf(out, "%s  badge %s\n", s.At.Format("15:04:05.000"), s.Badge)
				case <-tick.C:
					st := r.State()
					if st.FramesRejected != lastRejected {
						fmt.Fprintf(out, "%s  %d frame(s) rejected (noise, bad checksum or wrong profile?)\n", time.Now().Format("15:04:05.000"), st.FramesRejected-lastRejected)
						lastRejected = st.FramesRejected
					}
					if st.Connected != wasConnected {
						if st.Connected {
							fmt.Fprintf(out, "connected to %s\n", st.Path)
						} else if st.LastError != "" {
							fmt.Fprintf(out, "not connected: %s (retrying)\n", st.LastError)
						}
						wasConnected = st.Connected
					}
				case err := <-errc:
					if err != nil && !errors.Is(err, context.Canceled) {
						return err
					}
					return nil
				}
			}
		},
	}
	cmd.Flags().StringVar(&port, "port", "", "device path (/dev/ttyUSB0, COM3) or usb:VID:PID[:SERIAL]")
	cmd.Flags().StringVar(&profile, "profile", "", "scanner profile (see: pointage-agent profiles)")
	cmd.Flags().StringVar(&profilesDir, "profiles-dir", "", "folder of extra profiles (*.yaml)")
	cmd.Flags().DurationVar(&debounce, "debounce", 3*time.Second, "same badge within this time is one scan")
	_ = cmd.MarkFlagRequired("port")
	_ = cmd.MarkFlagRequired("profile")
	return cmd
}

func profileNames(m map[string]*reader.Profile) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func profilesCmd() *cobra.Command {
	var profilesDir string
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List the scanner profiles (built-in and from --profiles-dir)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			profiles, err := reader.Load(profilesDir)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSERIAL\tDESCRIPTION")
			for _, n := range profileNames(profiles) {
				p := profiles[n]
				fmt.Fprintf(tw, "%s\t%s\t%s\n", n, serialSummary(p.Serial), p.Description)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&profilesDir, "profiles-dir", "", "folder of extra profiles (*.yaml)")
	return cmd
}

func outboxCmd() *cobra.Command {
	var cfgFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "outbox --config FILE",
		Short: "Show the outbox (pending events, oldest pending, last seq); safe while the agent runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := agent.LoadConfig(configPath(cfgFile), os.Getenv)
			if err != nil {
				return err
			}
			st, err := outbox.ReadStats(cmd.Context(), cfg.OutboxPath())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(st)
			}
			st.WriteText(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgFile, "config", "", "agent configuration file (YAML); env "+agent.EnvPrefix+"CONFIG")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// serialSummary writes serial settings the usual way: "9600 8N1".
func serialSummary(s reader.SerialSettings) string {
	bits, parity, stop := s.DataBits, "N", s.StopBits
	if bits == 0 {
		bits = 8
	}
	if stop == 0 {
		stop = 1
	}
	switch s.Parity {
	case "even":
		parity = "E"
	case "odd":
		parity = "O"
	}
	return fmt.Sprintf("%d %d%s%d", s.Baud, bits, parity, stop)
}
