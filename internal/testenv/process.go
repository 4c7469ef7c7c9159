package testenv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// errAddrInUse means the server could not bind its port: another process took it
// between FreePort and the server's start.
var errAddrInUse = errors.New("address already in use")

// process is one server binary run as a child of the test, any number of times (Stop
// then Start) with the same arguments, all runs' output appended to one log file.
type process struct {
	name    string
	bin     string
	args    []string
	env     []string // nil: the test's environment
	dir     string   // working directory
	logPath string
	timeout time.Duration // how long a start may take
	// ready reports nil once the server serves requests; log returns what the current
	// run has written to the log so far.
	ready func(log func() string) error

	mu   sync.Mutex
	cur  *run
	runs int
}

// run is one execution of the process.
type run struct {
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	err      error         // cmd.Wait's result, set before done is closed
	stopping atomic.Bool   // the exit was asked for (Stop, Kill, cleanup)
}

func (r *run) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// newProcess registers the cleanup that stops the process at the end of the test and
// prints the end of its log when the test failed.
func newProcess(t testing.TB, p *process) *process {
	t.Cleanup(func() {
		p.mu.Lock()
		r := p.cur
		p.mu.Unlock()
		crashed := r != nil && r.exited() && !r.stopping.Load()
		if _, err := p.stop(syscall.SIGTERM, 10*time.Second); err != nil {
			t.Errorf("stop %s: %v", p.name, err)
		}
		if crashed {
			t.Logf("%s exited by itself during the test: %v", p.name, r.err)
		}
		if t.Failed() || crashed {
			t.Logf("%s log (%s), last lines:\n%s", p.name, p.logPath, tail(p.logs(), 40))
		}
	})
	return p
}

// start runs the process and waits until it is ready. It returns how long that took.
func (p *process) start() (time.Duration, error) {
	p.mu.Lock()
	if p.cur != nil && !p.cur.exited() {
		pid := p.cur.cmd.Process.Pid
		p.mu.Unlock()
		return 0, fmt.Errorf("%s is already running (pid %d)", p.name, pid)
	}
	p.runs++
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.mu.Unlock()
		return 0, err
	}
	fmt.Fprintf(f, "=== testenv: %s run %d: %s %s\n", p.name, p.runs, p.bin, strings.Join(p.args, " "))
	var offset int64
	if st, err := f.Stat(); err == nil {
		offset = st.Size()
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.dir
	cmd.Env = p.env
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = sysProcAttr()
	began := time.Now()
	err = cmd.Start()
	f.Close() // the child has its own descriptor
	if err != nil {
		p.mu.Unlock()
		return 0, fmt.Errorf("run %s: %w", p.bin, err)
	}
	r := &run{cmd: cmd, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	p.cur = r
	p.mu.Unlock()

	since := func() string { return readFrom(p.logPath, offset) }
	deadline := time.Now().Add(p.timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		notReady := p.ready(since)
		if notReady == nil {
			return time.Since(began), nil
		}
		select {
		case <-r.done:
			out := since()
			if strings.Contains(strings.ToLower(out), "address already in use") {
				return 0, fmt.Errorf("%s: %w:\n%s", p.name, errAddrInUse, tail(out, 20))
			}
			return 0, fmt.Errorf("%s exited before it was ready (%v); its output:\n%s", p.name, r.err, tail(out, 40))
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			r.stopping.Store(true)
			cmd.Process.Kill()
			<-r.done
			return 0, fmt.Errorf("%s not ready after %s (last check: %v); its output:\n%s",
				p.name, p.timeout, notReady, tail(since(), 40))
		}
	}
}

// stop sends sig and waits up to grace for the process to exit, then kills it. It
// reports whether the process had to be killed after the grace period.
func (p *process) stop(sig syscall.Signal, grace time.Duration) (killed bool, err error) {
	p.mu.Lock()
	r := p.cur
	p.mu.Unlock()
	if r == nil || r.exited() {
		return false, nil
	}
	r.stopping.Store(true)
	if err := r.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return false, fmt.Errorf("signal %s: %w", p.name, err)
	}
	select {
	case <-r.done:
		return false, nil
	case <-time.After(grace):
	}
	r.cmd.Process.Kill()
	select {
	case <-r.done:
		return true, nil
	case <-time.After(10 * time.Second):
		return true, fmt.Errorf("%s (pid %d) still running 10 s after SIGKILL", p.name, r.cmd.Process.Pid)
	}
}

// signal sends sig to the running process without waiting.
func (p *process) signal(sig syscall.Signal) error {
	p.mu.Lock()
	r := p.cur
	p.mu.Unlock()
	if r == nil || r.exited() {
		return fmt.Errorf("%s is not running", p.name)
	}
	return r.cmd.Process.Signal(sig)
}

func (p *process) logs() string { return readFrom(p.logPath, 0) }

// pid is the process id of the current run, 0 when it is not running.
func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil || p.cur.exited() || p.cur.cmd.Process == nil {
		return 0
	}
	return p.cur.cmd.Process.Pid
}

func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// tail returns the last n lines of s, at most 8 KiB.
func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > 8<<10 {
		s = s[len(s)-8<<10:]
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// the three life-cycle calls shared by the servers, reporting errors on t.

func (p *process) mustStop(t testing.TB) {
	t.Helper()
	killed, err := p.stop(syscall.SIGTERM, 15*time.Second)
	if err != nil {
		t.Fatalf("stop %s: %v", p.name, err)
	}
	if killed {
		t.Logf("%s did not stop within 15 s of SIGTERM; killed it", p.name)
	}
}

func (p *process) mustKill(t testing.TB) {
	t.Helper()
	if _, err := p.stop(syscall.SIGKILL, 10*time.Second); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
}

func (p *process) mustStart(t testing.TB, addr string) time.Duration {
	t.Helper()
	d, err := p.start()
	if err != nil {
		if errors.Is(err, errAddrInUse) {
			t.Fatalf("restart %s: its port %s was taken by another process while it was down: %v", p.name, addr, err)
		}
		t.Fatalf("start %s: %v", p.name, err)
	}
	return d
}
