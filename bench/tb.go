package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// tb lets the harness use internal/testenv (written for tests) from a main program.
// It embeds a nil testing.TB only to satisfy the interface's unexported method; every
// method testenv calls is implemented here. Fatal and Skip stop the current step with a
// panic that step recovers: a missing server is an error, never a silent skip.
type tb struct {
	testing.TB
	name string
	base string

	mu       sync.Mutex
	failed   bool
	cleanups []func()
	n        int
}

type stepFailed struct{ msg string }

func newTB(name, base string) *tb { return &tb{name: name, base: base} }

func (t *tb) Helper()      {}
func (t *tb) Name() string { return t.name }
func (t *tb) Log(args ...any) {
	logf("[%s] %s", t.name, fmt.Sprint(args...))
}
func (t *tb) Logf(format string, args ...any) {
	logf("[%s] "+format, append([]any{t.name}, args...)...)
}
func (t *tb) Error(args ...any) { t.fail(fmt.Sprint(args...)) }
func (t *tb) Errorf(format string, args ...any) {
	t.fail(fmt.Sprintf(format, args...))
}
func (t *tb) Fatal(args ...any) { t.fail(fmt.Sprint(args...)); panic(stepFailed{fmt.Sprint(args...)}) }
func (t *tb) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.fail(msg)
	panic(stepFailed{msg})
}
func (t *tb) FailNow() { t.fail("FailNow"); panic(stepFailed{"FailNow"}) }
func (t *tb) Fail()    { t.fail("Fail") }
func (t *tb) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

// Skip is a failure here: the benchmarks must not skip a measurement silently.
func (t *tb) Skip(args ...any) { t.Fatal(append([]any{"would skip: "}, args...)...) }
func (t *tb) Skipf(format string, args ...any) {
	t.Fatalf("would skip: "+format, args...)
}
func (t *tb) SkipNow()      { t.Fatal("would skip") }
func (t *tb) Skipped() bool { return false }

func (t *tb) fail(msg string) {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
	logf("[%s] ERROR: %s", t.name, msg)
}

func (t *tb) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *tb) TempDir() string {
	t.mu.Lock()
	t.n++
	n := t.n
	t.mu.Unlock()
	dir := filepath.Join(t.base, fmt.Sprintf("%s-%03d", t.name, n))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	return dir
}

func (t *tb) Setenv(key, value string) { os.Setenv(key, value) }

// runCleanups runs the cleanups, last registered first.
func (t *tb) runCleanups() {
	for {
		t.mu.Lock()
		if len(t.cleanups) == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[len(t.cleanups)-1]
		t.cleanups = t.cleanups[:len(t.cleanups)-1]
		t.mu.Unlock()
		func() {
			defer func() {
				if r := recover(); r != nil {
					logf("[%s] cleanup: %v", t.name, r)
				}
			}()
			f()
		}()
	}
}

// step runs fn with a fresh tb and returns an error when it failed.
func step(name, base string, fn func(t *tb)) (err error) {
	t := newTB(name, base)
	defer t.runCleanups()
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(stepFailed); ok {
				err = fmt.Errorf("%s: %s", name, f.msg)
				return
			}
			err = fmt.Errorf("%s: panic: %v", name, r)
		}
		if err == nil && t.Failed() {
			err = fmt.Errorf("%s failed", name)
		}
	}()
	fn(t)
	return nil
}
