//go:build windows

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// serviceSupported: the service commands work on Windows.
const serviceSupported = true

// scmError says what to do next for the Service Control Manager's usual refusals.
func scmError(what, name string, err error) error {
	switch {
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return fmt.Errorf("%s: access denied: run this in an administrator command prompt (right-click Command Prompt, Run as administrator)", what)
	case errors.Is(err, windows.ERROR_SERVICE_EXISTS):
		return fmt.Errorf("%s: service %q is already installed: run `pointage-agent service uninstall%s` first", what, name, nameFlag(name))
	case errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST):
		return fmt.Errorf("%s: service %q is not installed: run `pointage-agent service install --config FILE%s` first", what, name, nameFlag(name))
	case errors.Is(err, windows.ERROR_SERVICE_MARKED_FOR_DELETE):
		return fmt.Errorf("%s: service %q is being removed: close the Services window (services.msc) and any other program looking at it, then try again", what, name)
	case errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING):
		return fmt.Errorf("%s: service %q is already running", what, name)
	case errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE):
		return fmt.Errorf("%s: service %q is not running", what, name)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func nameFlag(name string) string {
	if name == defaultServiceName {
		return ""
	}
	return " --name " + name
}

func connect() (*mgr.Mgr, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, scmError("connect to the Service Control Manager", "", err)
	}
	return m, nil
}

func serviceInstall(out io.Writer, p installPlan) error {
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	if s, err := m.OpenService(p.Name); err == nil {
		s.Close()
		return scmError("install", p.Name, windows.ERROR_SERVICE_EXISTS)
	}
	c := mgr.Config{
		DisplayName:  p.DisplayName,
		Description:  p.Description,
		ErrorControl: mgr.ErrorNormal,
		StartType:    mgr.StartManual,
	}
	if p.AutoStart {
		c.StartType = mgr.StartAutomatic
	}
	s, err := m.CreateService(p.Name, p.Exe, c, p.Args...) // quotes each argument (syscall.EscapeArg)
	if err != nil {
		return scmError("install", p.Name, err)
	}
	defer s.Close()
	actions := make([]mgr.RecoveryAction, len(p.RestartDelays))
	for i, d := range p.RestartDelays {
		actions[i] = mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: d}
	}
	err = s.SetRecoveryActions(actions, uint32(p.ResetPeriod/time.Second))
	if err == nil {
		// A stop with a non-zero exit code (the agent failed) is a failure too.
		err = s.SetRecoveryActionsOnNonCrashFailures(true)
	}
	if err != nil {
		_ = s.Delete()
		return scmError("install: recovery actions", p.Name, err)
	}
	fmt.Fprintf(out, "installed service %q (%s): starts at boot, restarted 5 s, 5 s then 30 s after a failure\n", p.Name, p.DisplayName)
	fmt.Fprintf(out, "  runs:   %s\n", commandLine(p.Exe, p.Args))
	fmt.Fprintf(out, "  config: %s\n", p.ConfigPath)
	fmt.Fprintf(out, "  log:    %s\n", p.LogPath)
	fmt.Fprintf(out, "start it now with: pointage-agent service start%s\n", nameFlag(p.Name))
	return nil
}

// commandLine is the service's command line as mgr.CreateService writes it.
func commandLine(exe string, args []string) string {
	s := windows.EscapeArg(exe)
	for _, a := range args {
		s += " " + windows.EscapeArg(a)
	}
	return s
}

func openService(what, name string) (*mgr.Mgr, *mgr.Service, error) {
	m, err := connect()
	if err != nil {
		return nil, nil, err
	}
	s, err := m.OpenService(name)
	if err != nil {
		m.Disconnect()
		return nil, nil, scmError(what, name, err)
	}
	return m, s, nil
}

func queryState(s *mgr.Service) func() (svcState, error) {
	return func() (svcState, error) {
		st, err := s.Query()
		if err != nil {
			return 0, scmError("query", s.Name, err)
		}
		return fromSvcState(st.State), nil
	}
}

// stopAndWait asks the service to stop, unless it is stopped, and waits for it.
func stopAndWait(out io.Writer, s *mgr.Service, what string) error {
	st, err := s.Query()
	if err != nil {
		return scmError(what, s.Name, err)
	}
	if st.State == svc.Stopped {
		return nil
	}
	if st.State != svc.StopPending {
		if _, err := s.Control(svc.Stop); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
			return scmError(what, s.Name, err)
		}
	}
	if err := waitState(queryState(s), stateStopped, serviceStopWait, 300*time.Millisecond, out); err != nil {
		return fmt.Errorf("%s: %w: look at the log file; as a last resort, end pointage-agent.exe in the Task Manager", what, err)
	}
	return nil
}

func serviceUninstall(out io.Writer, name string) error {
	m, s, err := openService("uninstall", name)
	if err != nil {
		return err
	}
	defer m.Disconnect()
	defer s.Close()
	if err := stopAndWait(out, s, "uninstall"); err != nil {
		return err
	}
	if err := s.Delete(); err != nil {
		return scmError("uninstall", name, err)
	}
	fmt.Fprintf(out, "removed service %q; the configuration, the outbox and the log file stay where they are\n", name)
	return nil
}

func serviceStart(out io.Writer, name string) error {
	m, s, err := openService("start", name)
	if err != nil {
		return err
	}
	defer m.Disconnect()
	defer s.Close()
	if err := s.Start(); err != nil {
		return scmError("start", name, err)
	}
	// It reports running as soon as the agent is started; a broken
	// configuration stops it at once, which this shows.
	if err := waitState(queryState(s), stateRunning, serviceStopWait, 300*time.Millisecond, out); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	time.Sleep(time.Second)
	if st, err := s.Query(); err == nil && st.State != svc.Running {
		return fmt.Errorf("start: service %q stopped at once (%s): see pointage-agent.log in the configuration's data_dir, or beside the configuration file if it could not be read", name, fromSvcState(st.State))
	}
	fmt.Fprintf(out, "service %q is running\n", name)
	return nil
}

func serviceStop(out io.Writer, name string) error {
	m, s, err := openService("stop", name)
	if err != nil {
		return err
	}
	defer m.Disconnect()
	defer s.Close()
	st, err := s.Query()
	if err != nil {
		return scmError("stop", name, err)
	}
	if st.State == svc.Stopped {
		return scmError("stop", name, windows.ERROR_SERVICE_NOT_ACTIVE)
	}
	if err := stopAndWait(out, s, "stop"); err != nil {
		return err
	}
	fmt.Fprintf(out, "service %q is stopped\n", name)
	return nil
}

// serviceRun is `service run`: the process the Service Control Manager starts.
func serviceRun(name string, run func(context.Context) error) error {
	isService, err := svc.IsWindowsService()
	if err != nil {
		return fmt.Errorf("service run: %w", err)
	}
	if !isService {
		return errors.New("service run is started by the Service Control Manager: use `pointage-agent service start`, or `pointage-agent run --config FILE` in a console")
	}
	return svc.Run(name, &handler{run: run})
}

// handler is the svc.Handler: serveControl between svc's channels.
type handler struct{ run func(context.Context) error }

func (h *handler) Execute(_ []string, r <-chan svc.ChangeRequest, s chan<- svc.Status) (bool, uint32) {
	reqs := make(chan svcCmd)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case c := <-r:
				select {
				case reqs <- toSvcCmd(c.Cmd):
				case <-done:
					return
				}
			case <-done:
				return
			}
		}
	}()
	final, _ := serveControl(context.Background(), h.run, reqs, func(st svcStatus) { s <- toSvcStatus(st) })
	close(done)
	// svc.Run reports Stopped with this exit code; non-zero starts the recovery.
	return true, final.ExitCode
}

func toSvcCmd(c svc.Cmd) svcCmd {
	switch c {
	case svc.Interrogate:
		return cmdInterrogate
	case svc.Stop:
		return cmdStop
	case svc.Shutdown:
		return cmdShutdown
	}
	return cmdOther
}

func toSvcStatus(st svcStatus) svc.Status {
	out := svc.Status{WaitHint: uint32(st.WaitHint / time.Millisecond)}
	switch st.State {
	case stateStartPending:
		out.State = svc.StartPending
	case stateRunning:
		out.State = svc.Running
	case stateStopPending:
		out.State = svc.StopPending
	default:
		out.State = svc.Stopped
	}
	if st.AcceptsStop {
		out.Accepts = svc.AcceptStop | svc.AcceptShutdown
	}
	return out
}

func fromSvcState(s svc.State) svcState {
	switch s {
	case svc.StartPending, svc.ContinuePending:
		return stateStartPending
	case svc.Running:
		return stateRunning
	case svc.StopPending, svc.PausePending, svc.Paused:
		return stateStopPending
	}
	return stateStopped
}
