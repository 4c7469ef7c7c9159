package users

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"pointage/hub/auth"
)

func TestLoginSessionLogout(t *testing.T) {
	s, clock, sqlDB := newTestStore(t)
	ctx := context.Background()
	alice := mustAdd(t, s, "alice", auth.RoleSchool, "jules-ferry", "correct horse")

	for _, tt := range []struct{ name, user, password string }{
		{"wrong password", "alice", "wrong horse!"},
		{"unknown user", "bob", "correct horse"},
		{"empty", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.Login(ctx, tt.user, tt.password); !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("Login: %v, want ErrBadCredentials", err)
			}
		})
	}

	sess, u, err := s.Login(ctx, "Alice", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if u != alice.User {
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
	sess2, _, err := s.Login(ctx, "alice", "correct horse")
	if err != nil || sess2.Token == sess.Token || sess2.CSRF == sess.CSRF {
		t.Fatalf("second login: %+v, %v (want fresh tokens)", sess2, err)
	}

	gotU, gotS, ok := s.Session(ctx, sess.Token)
	if !ok || gotU != alice.User || gotS != sess {
		t.Fatalf("Session = %+v, %+v, %v; want %+v, %+v", gotU, gotS, ok, alice, sess)
	}
	for _, bad := range []string{"", "x", sess.Token + "x", sess.CSRF} {
		if _, _, ok := s.Session(ctx, bad); ok {
			t.Errorf("Session(%q) found a session", bad)
		}
	}

	// Sessions survive a restart.
	restarted := reopen(t, sqlDB, clock)
	if u, _, ok := restarted.Session(ctx, sess.Token); !ok || u != alice.User {
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
	if _, _, err := s.Login(ctx, "alice", "correct horse"); err != nil {
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
	mustAdd(t, s, "alice", auth.RoleOffice, "", "correct horse")
	sess, _, err := s.Login(ctx, "alice", "correct horse")
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
