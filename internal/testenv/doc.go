// Package testenv starts the real servers that pointage's integration tests run
// against: a mosquitto broker ([Mosquitto]) and an InfluxDB 1.8 server ([Influxd]).
//
// Each server runs as a child process of the test binary, on free loopback ports, with
// its configuration, data and log in the test's temporary folder. The constructor
// returns once the server accepts requests and registers a cleanup that stops it. Stop,
// Kill and Start let a test take a server down and bring it back on the same ports with
// the same data ("broker down", "store down" cases). A server's output goes to a log
// file ([MosquittoServer.Logs]); when the test fails, the end of that log is printed.
//
// Binaries are found in PATH and in the usual places (/usr/sbin/mosquitto;
// $POINTAGE_CACHE/bin/influxd, by default ~/.cache/pointage/bin/influxd, where
// scripts/ensure-deps.sh builds it). When one is missing the test is skipped with a hint
// on how to install it, except under CI (CI=true) or with POINTAGE_REQUIRE_SERVERS=1,
// where the test fails instead: a CI run never skips a server test silently. With
// go test -short, server tests are skipped.
//
// Typical use:
//
//	func TestIngest(t *testing.T) {
//		broker := testenv.Mosquitto(t)
//		store := testenv.Influxd(t)
//		if _, err := store.Query(`CREATE DATABASE "pointage"`); err != nil {
//			t.Fatal(err)
//		}
//		// … connect to broker.URL() and store.URL() …
//		broker.Stop()  // the broker goes away
//		broker.Start() // and comes back on the same port
//	}
//
// Stop, Kill and Start report failures with t.Fatalf, so call them from the test's own
// goroutine. Child processes get SIGKILL if the test binary dies (Linux), so a crashed
// or timed-out test run leaves no servers behind.
package testenv
