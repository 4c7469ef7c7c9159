package users

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"pointage/hub/auth"
)

func TestAddValidation(t *testing.T) {
	tests := []struct {
		name           string
		user           string
		role           auth.Role
		site, password string
		want           error
		field          string // the message must name it
	}{
		{"office", "marie.dupont", auth.RoleOffice, "", "correct horse", nil, ""},
		{"school", "dir@jules-ferry", auth.RoleSchool, "jules-ferry", "12345678", nil, ""},
		{"kitchen all sites", "Cuisine_1", auth.RoleKitchen, "", "12345678", nil, ""},
		{"kitchen one site", "cuisine-jf", auth.RoleKitchen, "jules-ferry", "12345678", nil, ""},
		{"8 characters of 2 bytes", "accents", auth.RoleOffice, "", "éééééééé", nil, ""},
		{"empty name", "", auth.RoleOffice, "", "12345678", ErrInvalidName, "name"},
		{"name too long", strings.Repeat("a", 65), auth.RoleOffice, "", "12345678", ErrInvalidName, "name"},
		{"name with space", "marie dupont", auth.RoleOffice, "", "12345678", ErrInvalidName, "name"},
		{"name not ASCII", "hélène", auth.RoleOffice, "", "12345678", ErrInvalidName, "name"},
		{"name with colon", "a:b", auth.RoleOffice, "", "12345678", ErrInvalidName, "name"},
		{"unknown role", "bob", "admin", "", "12345678", ErrInvalidRole, "role"},
		{"empty role", "bob", "", "", "12345678", ErrInvalidRole, "role"},
		{"school without site", "bob", auth.RoleSchool, "", "12345678", ErrInvalidSite, "site"},
		{"school bad site", "bob", auth.RoleSchool, "Jules Ferry", "12345678", ErrInvalidSite, "site"},
		{"kitchen bad site", "bob", auth.RoleKitchen, "-x", "12345678", ErrInvalidSite, "site"},
		{"office with site", "bob", auth.RoleOffice, "jules-ferry", "12345678", ErrInvalidSite, "site"},
		{"password too short", "bob", auth.RoleOffice, "", "1234567", ErrBadPassword, "password"},
		{"password too long", "bob", auth.RoleOffice, "", strings.Repeat("x", 73), ErrBadPassword, "password"},
		{"password with newline", "bob", auth.RoleOffice, "", "12345678\n", ErrBadPassword, "password"},
		{"password with CR", "bob", auth.RoleOffice, "", "1234\r5678", ErrBadPassword, "password"},
		{"password not UTF-8", "bob", auth.RoleOffice, "", "1234567\xff", ErrBadPassword, "password"},
	}
	s, _, _ := newTestStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := s.Add(context.Background(), tt.user, tt.role, tt.site, tt.password)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Add: %v, want %v", err, tt.want)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.field) {
					t.Errorf("error %q does not name the field %q", err, tt.field)
				}
				if _, ok := s.Check(context.Background(), tt.user, tt.password); ok {
					t.Error("a refused user can log in")
				}
				return
			}
			if u.Name != tt.user || u.Role != tt.role || u.Site != tt.site || u.CreatedAt.IsZero() {
				t.Errorf("Add returned %+v", u)
			}
			if got, ok := s.Check(context.Background(), tt.user, tt.password); !ok || got.Name != tt.user {
				t.Errorf("Check after Add: %+v, %v", got, ok)
			}
		})
	}
}

func TestAddDuplicate(t *testing.T) {
	s, _, _ := newTestStore(t)
	mustAdd(t, s, "marie", auth.RoleOffice, "", "12345678")
	for _, name := range []string{"marie", "MARIE", "Marie"} {
		if _, err := s.Add(context.Background(), name, auth.RoleKitchen, "", "abcdefgh"); !errors.Is(err, ErrExists) {
			t.Errorf("Add(%q) again: %v, want ErrExists", name, err)
		}
	}
	// The first user is untouched.
	if u, ok := s.Check(context.Background(), "marie", "12345678"); !ok || u.Role != auth.RoleOffice {
		t.Errorf("Check: %+v, %v", u, ok)
	}
	if _, ok := s.Check(context.Background(), "marie", "abcdefgh"); ok {
		t.Error("the refused duplicate's password logs in")
	}
}

func TestList(t *testing.T) {
	s, clock, _ := newTestStore(t)
	if l, err := s.List(context.Background()); err != nil || len(l) != 0 {
		t.Fatalf("List of none: %v, %v", l, err)
	}
	created := clock.now()
	b := mustAdd(t, s, "bob", auth.RoleSchool, "jules-ferry", "12345678")
	a := mustAdd(t, s, "alice", auth.RoleKitchen, "", "12345678")
	got, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []User{
		{User: auth.User{Name: "alice", Role: auth.RoleKitchen}, CreatedAt: created},
		{User: auth.User{Name: "bob", Role: auth.RoleSchool, Site: "jules-ferry"}, CreatedAt: created},
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(got, []User{a, b}) {
		t.Errorf("List = %+v, want %+v", got, want)
	}
}

func TestAny(t *testing.T) {
	s, clock, sqlDB := newTestStore(t)
	ctx := context.Background()
	if s.Any(ctx) {
		t.Fatal("Any before any user")
	}
	mustAdd(t, s, "alice", auth.RoleOffice, "", "12345678")
	if !s.Any(ctx) {
		t.Fatal("Any right after Add (the cached false must be dropped)")
	}
	if !reopen(t, sqlDB, clock).Any(ctx) {
		t.Fatal("Any of a restarted hub on a database with users")
	}

	// A user added by another process ("users add" while the hub runs) is
	// seen within a second; until then the cached "no" saves queries.
	hub, c2, db2 := newTestStore(t)
	if hub.Any(ctx) {
		t.Fatal("Any on an empty database")
	}
	mustAdd(t, reopen(t, db2, c2), "carol", auth.RoleOffice, "", "12345678")
	if hub.Any(ctx) {
		t.Fatal("a cached false was read again before a second")
	}
	c2.advance(time.Second)
	if !hub.Any(ctx) {
		t.Fatal("Any does not see a user added by another process after a second")
	}
}

func TestCheck(t *testing.T) {
	s, _, _ := newTestStore(t)
	alice := mustAdd(t, s, "alice", auth.RoleSchool, "jules-ferry", "correct horse")
	tests := []struct {
		name, user, password string
		ok                   bool
	}{
		{"right", "alice", "correct horse", true},
		{"name in another case", "ALICE", "correct horse", true},
		{"wrong password", "alice", "correct horsE", false},
		{"empty password", "alice", "", false},
		{"unknown name", "bob", "correct horse", false},
		{"invalid name", "a b", "correct horse", false},
		{"too long password", "alice", "correct horse" + strings.Repeat("x", 72), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok := s.Check(context.Background(), tt.user, tt.password)
			if ok != tt.ok {
				t.Fatalf("Check = %v, want %v", ok, tt.ok)
			}
			if ok && u != alice.User {
				t.Errorf("Check returned %+v, want %+v", u, alice)
			}
			if !ok && u != (auth.User{}) {
				t.Errorf("failed Check returned %+v", u)
			}
		})
	}
}

func TestCheckCache(t *testing.T) {
	s, clock, _ := newTestStore(t)
	ctx := context.Background()
	mustAdd(t, s, "alice", auth.RoleOffice, "", "correct horse")
	check := func(name, password string, wantOK bool, wantBcrypt int64) {
		t.Helper()
		before := s.bcrypt.Checks()
		if _, ok := s.Check(ctx, name, password); ok != wantOK {
			t.Fatalf("Check(%q, %q) = %v, want %v", name, password, ok, wantOK)
		}
		if n := s.bcrypt.Checks() - before; n != wantBcrypt {
			t.Fatalf("Check(%q, %q) ran %d bcrypt, want %d", name, password, n, wantBcrypt)
		}
	}
	check("alice", "correct horse", true, 1)
	check("alice", "correct horse", true, 0) // cached
	check("Alice", "correct horse", true, 0) // same user, same entry
	check("alice", "wrong horse!", false, 1)
	check("alice", "wrong horse!", false, 1) // failures never cached
	check("alice", "correct horse", true, 0) // a failure does not evict
	check("nobody", "correct horse", false, 1)
	check("nobody", "correct horse", false, 1) // unknown names pay a bcrypt every time
	clock.advance(DefaultCacheTTL)
	check("alice", "correct horse", true, 1) // expired
	check("alice", "correct horse", true, 0)

	// The cache stays bounded.
	s.cache.SetMax(2)
	mustAdd(t, s, "bob", auth.RoleOffice, "", "12345678")
	mustAdd(t, s, "carol", auth.RoleOffice, "", "12345678")
	check("bob", "12345678", true, 1)
	check("carol", "12345678", true, 1)
	if n := s.cache.Len(); n > 2 {
		t.Errorf("cache holds %d entries, max 2", n)
	}
}

func TestAddDemo(t *testing.T) {
	s, _, _ := newTestStore(t)
	ctx := context.Background()
	if _, err := s.Add(ctx, DemoName, auth.RoleOffice, "", DemoPassword); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("Add of demo/demo: %v, want ErrBadPassword (only AddDemo may)", err)
	}
	if s.Any(ctx) {
		t.Fatal("Any before AddDemo")
	}
	if err := s.AddDemo(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.Any(ctx) {
		t.Fatal("Any after AddDemo")
	}
	u, ok := s.Check(ctx, "demo", "demo")
	if !ok || u.Name != "demo" || u.Role != auth.RoleOffice || u.Site != "" {
		t.Fatalf("Check demo/demo: %+v, %v", u, ok)
	}

	// AddDemo resets a changed demo user, and the cache forgets the old
	// password.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM users WHERE name = 'demo'`); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, "demo", auth.RoleKitchen, "jules-ferry", "12345678")
	if _, ok := s.Check(ctx, "demo", "12345678"); !ok {
		t.Fatal("Check of the replaced demo user")
	}
	if err := s.AddDemo(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Check(ctx, "demo", "12345678"); ok {
		t.Error("the old demo password still works after AddDemo (cache)")
	}
	u, ok = s.Check(ctx, "demo", "demo")
	if !ok || u.Role != auth.RoleOffice || u.Site != "" {
		t.Errorf("after reset: %+v, %v", u, ok)
	}
	if l, _ := s.List(ctx); len(l) != 1 {
		t.Errorf("List after two AddDemo: %+v", l)
	}
}
