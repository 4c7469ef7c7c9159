package users

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestLoginSessionLogout(t *testing.T) {
	s, clock, sqlDB := newTestStore(t)
	ctx := context.Background()
	alice := mustAdd(t, s, "alice", RoleSchool, "jules-ferry", "correct horse")

	for _, tt := range []struct{ name, user, password string }{
		{"wrong password", "alice", "wrong horse!"},
		{"unknown user", "bob", "correct horse"},
		{"empty", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.Login(ctx, tt.user, tt.password, "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("Login: %v, want ErrBadCredentials", err)
			}
		})
	}

	sess, u, err := s.Login(ctx, "Alice", "correct horse", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if u != alice {
		t.Errorf("Login user %+v, want %+v", u, alice)
	}
	for _, tok := range []string{sess.Token, sess.CSRF} {
		if b, err := base64.RawURLEncoding.DecodeString(tok); err != nil || len(b) != 32 {
			t.Errorf("token %q: %d bytes, %v; want 32 bytes of base64url", tok, len(b), err)
		}
	}
	if sess.Token == sess.CSRF {
		t.Error("the CSRF token is the session token")
	}
	if want := clock.now().Add(12 * time.Hour); !sess.Expires.Equal(want) {
		t.Errorf("Expires %v, want %v", sess.Expires, want)
	}
	sess2, _, err := s.Login(ctx, "alice", "correct horse", "192.0.2.1")
	if err != nil || sess2.Token == sess.Token || sess2.CSRF == sess.CSRF {
		t.Fatalf("second login: %+v, %v (want fresh tokens)", sess2, err)
	}

	gotU, gotS, ok := s.Session(ctx, sess.Token)
	if !ok || gotU != alice || gotS != sess {
		t.Fatalf("Session = %+v, %+v, %v; want %+v, %+v", gotU, gotS, ok, alice, sess)
	}
	for _, bad := range []string{"", "x", sess.Token + "x", sess.CSRF} {
		if _, _, ok := s.Session(ctx, bad); ok {
			t.Errorf("Session(%q) found a session", bad)
		}
	}

	// Sessions survive a restart.
	restarted := reopen(t, sqlDB, clock)
	if u, _, ok := restarted.Session(ctx, sess.Token); !ok || u != alice {
		t.Fatalf("Session after restart: %+v, %v", u, ok)
	}

	// Logout ends this session only.
	if err := s.Logout(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Session(ctx, sess.Token); ok {
		t.Error("session alive after Logout")
	}
	if _, _, ok := restarted.Session(ctx, sess.Token); ok {
		t.Error("session alive in another store after Logout")
	}
	if _, _, ok := s.Session(ctx, sess2.Token); !ok {
		t.Error("Logout ended the other session")
	}
	if err := s.Logout(ctx, sess.Token); err != nil {
		t.Errorf("Logout twice: %v", err)
	}

	// Expiry: 12 hours after Login, not sliding.
	clock.advance(12*time.Hour - time.Millisecond)
	if _, _, ok := s.Session(ctx, sess2.Token); !ok {
		t.Error("session ended before 12 hours")
	}
	clock.advance(time.Millisecond)
	if _, _, ok := s.Session(ctx, sess2.Token); ok {
		t.Error("session alive after 12 hours")
	}
	// Expired sessions are dropped from the table at the next Login.
	if _, _, err := s.Login(ctx, "alice", "correct horse", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := sqlDB.QueryRowContext(ctx, `SELECT count(*) FROM sessions`).Scan(&n); err != nil || n != 1 {
		t.Errorf("sessions in the table: %d, %v; want 1 (expired dropped)", n, err)
	}
}

func TestSessionTokenStoredHashed(t *testing.T) {
	s, _, sqlDB := newTestStore(t)
	ctx := context.Background()
	mustAdd(t, s, "alice", RoleOffice, "", "correct horse")
	sess, _, err := s.Login(ctx, "alice", "correct horse", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(sess.Token)
	rows, err := sqlDB.QueryContext(ctx, `SELECT token_hash, name, csrf, created_at, expires_at FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	count := 0
	for rows.Next() {
		count++
		var hash []byte
		var name, csrf string
		var created, expires int64
		if err := rows.Scan(&hash, &name, &csrf, &created, &expires); err != nil {
			t.Fatal(err)
		}
		row := fmt.Sprint(hash, name, csrf, created, expires) + string(hash) + name + csrf
		if bytes.Contains([]byte(row), []byte(sess.Token)) || bytes.Contains(hash, raw) {
			t.Errorf("the raw session token is in the table: %q", row)
		}
		if !bytes.Equal(hash, tokenHash(sess.Token)) {
			t.Errorf("token_hash %x, want the SHA-256 of the token", hash)
		}
	}
	if err := rows.Err(); err != nil || count != 1 {
		t.Fatalf("%d rows, %v", count, err)
	}
	// A copied database gives the hash, which is not a token.
	if _, _, ok := s.Session(ctx, base64.RawURLEncoding.EncodeToString(tokenHash(sess.Token))); ok {
		t.Error("the stored hash opens the session")
	}
}

func TestLoginThrottle(t *testing.T) {
	s, clock, _ := newTestStore(t)
	ctx := context.Background()
	mustAdd(t, s, "alice", RoleOffice, "", "correct horse")
	mustAdd(t, s, "bob", RoleOffice, "", "correct horse")
	const ip = "192.0.2.7"

	for i := 1; i <= MaxLoginFailures; i++ {
		clock.advance(time.Second)
		if _, _, err := s.Login(ctx, "alice", "wrong horse!", ip); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v, want ErrBadCredentials", i, err)
		}
	}
	before := s.bcrypt.Checks()
	tests := []struct {
		name, user, ip string
		want           error
	}{
		{"blocked even with the right password", "alice", ip, ErrThrottled},
		{"name in another case is the same name", "ALICE", ip, ErrThrottled},
		{"same name, other address", "alice", "192.0.2.8", nil},
		{"same address, other name", "bob", ip, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.Login(ctx, tt.user, "correct horse", tt.ip); !errors.Is(err, tt.want) {
				t.Errorf("Login: %v, want %v", err, tt.want)
			}
		})
	}
	if n := s.bcrypt.Checks() - before; n != 2 {
		t.Errorf("%d bcrypt checks; a throttled login must not run any (want 2 for the others)", n)
	}

	clock.advance(LoginBlock - time.Millisecond)
	if _, _, err := s.Login(ctx, "alice", "correct horse", ip); !errors.Is(err, ErrThrottled) {
		t.Fatalf("just before the minute: %v, want ErrThrottled", err)
	}
	clock.advance(time.Millisecond)
	if _, _, err := s.Login(ctx, "alice", "correct horse", ip); err != nil {
		t.Fatalf("after the minute: %v", err)
	}

	// Failures spread over more than a minute do not block.
	for i := 0; i < 3*MaxLoginFailures; i++ {
		clock.advance(7 * time.Second)
		if _, _, err := s.Login(ctx, "bob", "wrong horse!", ip); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("slow failure %d: %v, want ErrBadCredentials", i, err)
		}
	}
	// A success clears the count.
	if _, _, err := s.Login(ctx, "bob", "correct horse", ip); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < MaxLoginFailures-1; i++ {
		if _, _, err := s.Login(ctx, "bob", "wrong horse!", ip); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d after a success: %v", i, err)
		}
	}
	if _, _, err := s.Login(ctx, "bob", "correct horse", ip); err != nil {
		t.Fatalf("9 failures then the right password: %v", err)
	}
}

func TestCheckCSRF(t *testing.T) {
	sess := Session{Token: "tok", CSRF: "Zm9vYmFyYmF6cXV4"}
	tests := []struct {
		name string
		sess Session
		got  string
		want bool
	}{
		{"match", sess, "Zm9vYmFyYmF6cXV4", true},
		{"empty", sess, "", false},
		{"the session token", sess, "tok", false},
		{"one character off", sess, "Zm9vYmFyYmF6cXV5", false},
		{"prefix", sess, "Zm9vYmFyYmF6cXV", false},
		{"longer", sess, "Zm9vYmFyYmF6cXV4x", false},
		{"no session CSRF", Session{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckCSRF(tt.sess, tt.got); got != tt.want {
				t.Errorf("CheckCSRF = %v, want %v", got, tt.want)
			}
		})
	}
}
