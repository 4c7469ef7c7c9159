package main

// The agent as a Windows service (docs/DESIGN.md §14): `pointage-agent service
// install|uninstall|start|stop`, and the hidden `service run` the Service
// Control Manager starts. This file holds what does not depend on Windows (the
// install plan, the log file, the translation of control requests into the
// agent's context) so Linux tests cover it; service_windows.go talks to the
// Service Control Manager with golang.org/x/sys/windows/svc and svc/mgr.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/natefinch/lumberjack.v2"

	"pointage/agent"
)

const (
	defaultServiceName = "pointage-agent"
	serviceDisplayName = "Pointage agent"
	serviceDescription = "Reads the badge readers of the canteen and the garderie, keeps every scan in a durable outbox and publishes the check-ins to the pointage hub."

	// serviceLogName is the service's log file, in the configuration's data_dir
	// (beside the configuration file when the configuration cannot be read).
	serviceLogName = "pointage-agent.log"
	// The log file is rotated at serviceLogMaxMB; one older file is kept.
	serviceLogMaxMB   = 10
	serviceLogBackups = 1

	// serviceResetPeriod: the failure count (which recovery action comes
	// next) goes back to zero after a day without failure.
	serviceResetPeriod = 24 * time.Hour
	// serviceStopWait is how long stop and uninstall wait for the service to stop.
	serviceStopWait = 30 * time.Second
	// stopWaitHint is what the service tells the Service Control Manager it
	// needs to stop (publish the offline status, close the outbox).
	stopWaitHint = 20 * time.Second
	// exitAgentFailed is the service-specific exit code when the agent ends on
	// its own: non-zero, so the recovery actions restart it.
	exitAgentFailed = 1
)

// serviceRestartDelays are the recovery actions: restart after the first,
// second and later failures.
var serviceRestartDelays = []time.Duration{5 * time.Second, 5 * time.Second, 30 * time.Second}

// errServiceUnsupported is what the service commands say outside Windows.
var errServiceUnsupported = errors.New("pointage-agent service is for Windows; on Linux use the systemd unit (docs/DEPLOY.md)")

// installPlan is everything `service install` registers.
type installPlan struct {
	Name        string
	DisplayName string
	Description string
	Exe         string   // absolute path of pointage-agent.exe
	Args        []string // the arguments the service is started with, after Exe
	ConfigPath  string   // absolute, resolved at install time
	AutoStart   bool     // start type automatic (at boot)
	// RestartDelays: one restart action per delay; the last repeats.
	RestartDelays []time.Duration
	ResetPeriod   time.Duration
	LogPath       string // where the running service writes its log
}

// planInstall checks the configuration the service will run and returns the
// plan: exe is the agent's executable, cfgFlag the --config flag (or, empty,
// POINTAGE_AGENT_CONFIG), name the service name.
func planInstall(exe, cfgFlag, name string, getenv func(string) string) (installPlan, error) {
	if err := checkServiceName(name); err != nil {
		return installPlan{}, err
	}
	cfgPath := cfgFlag
	if cfgPath == "" && getenv != nil {
		cfgPath = getenv(agent.EnvPrefix + "CONFIG")
	}
	if cfgPath == "" {
		return installPlan{}, errors.New("--config is required: the agent configuration file the service runs, like C:\\ProgramData\\pointage\\agent.yaml")
	}
	abs, err := filepath.Abs(cfgPath)
	if err != nil {
		return installPlan{}, fmt.Errorf("--config %s: %w", cfgPath, err)
	}
	cfg, err := agent.LoadConfig(abs, getenv)
	if err != nil {
		return installPlan{}, fmt.Errorf("%w (fix the configuration, then install again)", err)
	}
	// The service starts in C:\Windows\System32: a relative path would point there.
	for _, p := range []struct{ field, path string }{
		{"data_dir", cfg.DataDir}, {"mqtt.password_file", cfg.MQTT.PasswordFile},
		{"mqtt.ca_file", cfg.MQTT.CAFile}, {"profiles_dir", cfg.ProfilesDir},
	} {
		if p.path != "" && !filepath.IsAbs(p.path) {
			return installPlan{}, fmt.Errorf("config %s: %s: %q is relative; a service needs an absolute path, like 'C:\\ProgramData\\pointage\\data'", abs, p.field, p.path)
		}
	}
	exeAbs, err := filepath.Abs(exe)
	if err != nil {
		return installPlan{}, fmt.Errorf("the agent's executable %s: %w", exe, err)
	}
	return installPlan{
		Name:          name,
		DisplayName:   serviceDisplayName,
		Description:   serviceDescription,
		Exe:           exeAbs,
		Args:          []string{"service", "run", "--name", name, "--config", abs},
		ConfigPath:    abs,
		AutoStart:     true,
		RestartDelays: serviceRestartDelays,
		ResetPeriod:   serviceResetPeriod,
		LogPath:       serviceLogPath(cfg),
	}, nil
}

// checkServiceName refuses names the Service Control Manager refuses.
func checkServiceName(name string) error {
	if name == "" || len(name) > 256 || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("--name %q: a service name is 1 to 256 characters without '/' or '\\' (default %s)", name, defaultServiceName)
	}
	return nil
}

// serviceLogPath is the running service's log file.
func serviceLogPath(cfg agent.Config) string { return filepath.Join(cfg.DataDir, serviceLogName) }

// openServiceLog opens (creating its folder and the file) the log file at
// path, rotated at serviceLogMaxMB with one older file kept beside it.
func openServiceLog(path string) (io.WriteCloser, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	l := &lumberjack.Logger{Filename: path, MaxSize: serviceLogMaxMB, MaxBackups: serviceLogBackups, LocalTime: true}
	if _, err := l.Write(nil); err != nil { // opens the file now, to report a failure at once
		return nil, fmt.Errorf("log file: %w", err)
	}
	return l, nil
}

// serviceAgent is what the service runs: it reads the configuration, opens
// the log file in its data_dir and runs the agent until ctx ends. An error it
// meets before the log file is open goes to pointage-agent.log beside the
// configuration file.
func serviceAgent(cfgPath string, getenv func(string) string) func(context.Context) error {
	return func(ctx context.Context) error {
		early := filepath.Join(filepath.Dir(cfgPath), serviceLogName)
		cfg, err := agent.LoadConfig(cfgPath, getenv)
		if err != nil {
			logEarly(early, err)
			return err
		}
		w, err := openServiceLog(serviceLogPath(cfg))
		if err != nil {
			logEarly(early, err)
			return err
		}
		defer w.Close()
		err = runAgent(ctx, cfg, w)
		if err != nil {
			fmt.Fprintf(w, "time=%s level=ERROR msg=\"agent stopped\" err=%q\n", time.Now().Format(time.RFC3339), err.Error())
		}
		return err
	}
}

// logEarly writes a start-up error where the service's user will look.
func logEarly(path string, err error) {
	if w, e := openServiceLog(path); e == nil {
		fmt.Fprintf(w, "time=%s level=ERROR msg=\"the service cannot start\" err=%q\n", time.Now().Format(time.RFC3339), err.Error())
		w.Close()
	}
}

// The Service Control Manager's requests and states, as serveControl sees
// them; service_windows.go maps them to golang.org/x/sys/windows/svc.
type svcCmd int

const (
	cmdInterrogate svcCmd = iota + 1
	cmdStop
	cmdShutdown
	cmdOther // anything the service does not accept (pause, …)
)

type svcState int

const (
	stateStartPending svcState = iota + 1
	stateRunning
	stateStopPending
	stateStopped
)

func (s svcState) String() string {
	switch s {
	case stateStartPending:
		return "start pending"
	case stateRunning:
		return "running"
	case stateStopPending:
		return "stop pending"
	case stateStopped:
		return "stopped"
	}
	return fmt.Sprintf("state %d", int(s))
}

// svcStatus is one status reported to the Service Control Manager.
type svcStatus struct {
	State       svcState
	AcceptsStop bool          // accepts Stop and Shutdown
	WaitHint    time.Duration // for a pending state
	ExitCode    uint32        // service-specific, with stateStopped
}

// serveControl runs the agent (run) under the Service Control Manager's
// requests (reqs): it reports start pending, then running; Stop and
// Shutdown cancel the agent's context and report stop pending; Interrogate
// reports the current status again. It returns once the agent has returned,
// with the final stopped status (svc.Run reports that one itself, with its
// exit code): exit code 0 after a stop, exitAgentFailed when the agent ended
// on its own (with or without an error, returned too), so the recovery
// actions restart the service. ctx ending is a stop.
func serveControl(ctx context.Context, run func(context.Context) error, reqs <-chan svcCmd, report func(svcStatus)) (svcStatus, error) {
	cur := svcStatus{State: stateStartPending}
	report(cur)
	agentCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(agentCtx) }()
	cur = svcStatus{State: stateRunning, AcceptsStop: true}
	report(cur)

	stopping := false
	stop := func() {
		if stopping {
			return
		}
		stopping = true
		cancel()
		cur = svcStatus{State: stateStopPending, WaitHint: stopWaitHint}
		report(cur)
	}
	ctxDone := ctx.Done()
	for {
		select {
		case c, ok := <-reqs:
			if !ok {
				reqs = nil
				stop()
				continue
			}
			switch c {
			case cmdInterrogate:
				report(cur)
			case cmdStop, cmdShutdown:
				stop()
			}
		case <-ctxDone:
			ctxDone = nil
			stop()
		case err := <-done:
			if stopping {
				if errors.Is(err, context.Canceled) {
					err = nil
				}
				return svcStatus{State: stateStopped}, err
			}
			if err == nil {
				err = errors.New("the agent stopped on its own")
			}
			return svcStatus{State: stateStopped, ExitCode: exitAgentFailed}, err
		}
	}
}

// waitState polls query until it returns want, writing the state to progress
// when it changes and a dot every second, for at most timeout.
func waitState(query func() (svcState, error), want svcState, timeout, every time.Duration, progress io.Writer) error {
	deadline := time.Now().Add(timeout)
	var last svcState
	lastDot := time.Now()
	for {
		st, err := query()
		if err != nil {
			return err
		}
		if st == want {
			if last != 0 {
				fmt.Fprintln(progress)
			}
			return nil
		}
		if st != last {
			if last != 0 {
				fmt.Fprintln(progress)
			}
			fmt.Fprintf(progress, "service %s", st)
			last = st
		} else if time.Since(lastDot) >= time.Second {
			fmt.Fprint(progress, ".")
			lastDot = time.Now()
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(progress)
			return fmt.Errorf("the service is still %s after %s, not %s", st, timeout.Round(time.Second), want)
		}
		time.Sleep(every)
	}
}

func serviceCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "service install|uninstall|start|stop",
		Short: "Run the agent as a Windows service (from an administrator prompt)",
	}
	cmd.PersistentFlags().StringVar(&name, "name", defaultServiceName, "service name")

	var cfgFile string
	install := &cobra.Command{
		Use:   "install --config FILE",
		Short: "Register the agent as a Windows service started at boot and restarted when it fails",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !serviceSupported {
				return errServiceUnsupported
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("the agent's executable: %w", err)
			}
			p, err := planInstall(exe, cfgFile, name, os.Getenv)
			if err != nil {
				return err
			}
			return serviceInstall(cmd.OutOrStdout(), p)
		},
	}
	install.Flags().StringVar(&cfgFile, "config", "", "agent configuration file (YAML); env "+agent.EnvPrefix+"CONFIG")

	uninstall := &cobra.Command{
		Use:   "uninstall",
		Short: "Stop the service if it runs, and remove it (configuration and data stay)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return serviceUninstall(cmd.OutOrStdout(), name) },
	}
	start := &cobra.Command{
		Use:   "start",
		Short: "Start the service",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return serviceStart(cmd.OutOrStdout(), name) },
	}
	stop := &cobra.Command{
		Use:   "stop",
		Short: "Stop the service (waits up to 30 s)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return serviceStop(cmd.OutOrStdout(), name) },
	}

	var runCfg string
	run := &cobra.Command{
		Use:    "run --config FILE",
		Short:  "Run as the service (started by the Service Control Manager, not by hand)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runCfg == "" {
				return errors.New("--config is required")
			}
			return serviceRun(name, serviceAgent(runCfg, os.Getenv))
		},
	}
	run.Flags().StringVar(&runCfg, "config", "", "agent configuration file (YAML), absolute")

	cmd.AddCommand(install, uninstall, start, stop, run)
	return cmd
}
