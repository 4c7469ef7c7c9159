// Package hubtest runs a hub in-process for tests of other packages.
package hubtest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"pointage/hub"
	"pointage/internal/testenv"
)

// Start runs a hub on free loopback ports until the test ends, and returns
// once it is healthy and subscribed to its broker (with an external broker,
// devices publishing earlier would be heard only at their 30 s republish).
// An empty cfg.DataDir gets a fresh folder (hub.Defaults() sets ./data:
// clear it); client reaches the hub's HTTP
// server (nil: http.DefaultClient; an HTTPS hub needs its CA).
func Start(t testing.TB, cfg hub.Config, opts hub.Options, client *http.Client) *hub.Hub {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if client == nil {
		client = http.DefaultClient
	}
	cfg.Listen, cfg.MQTTListen = "127.0.0.1:0", "127.0.0.1:0"
	h, err := hub.New(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("hub Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("hub did not stop within 15s")
		}
	})
	testenv.WaitFor(t, 10*time.Second, "hub healthy and subscribed", func() bool {
		resp, err := client.Get(h.HTTPURL() + "/healthz")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && strings.Contains(string(body), `"mqtt":"connected"`)
	})
	return h
}

// BasicStatus is the status of a GET of path (like "/api/v1/counts") on
// h with HTTP Basic credentials.
func BasicStatus(t testing.TB, h *hub.Hub, user, password, path string) int {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+h.HTTPAddr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
