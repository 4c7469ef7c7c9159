package users

import (
	"context"
	"errors"
	"slices"
	"testing"

	"pointage/hub/auth"
)

// A new password ends the user's other sessions (the one it was changed
// from stays); disabling ends them all and refuses the password; another
// process's store (the users command) sees the same database, and the
// change journal names whom a running hub must forget.
func TestUpdateEndsSessionsAndJournals(t *testing.T) {
	ctx := context.Background()
	s, clock, sqlDB := newTestStore(t)
	mustAdd(t, s, "marie", auth.RoleOffice, "", "mot-de-passe-marie")
	mustAdd(t, s, "ecole", auth.RoleSchool, "jules-ferry", "mot-de-passe-ecole")
	here, _, err := s.Login(ctx, "ecole", "mot-de-passe-ecole")
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := s.Login(ctx, "ecole", "mot-de-passe-ecole")
	since, _ := s.LatestChange(ctx)
	cli := reopen(t, sqlDB, clock) // the users command, another process

	pw := "un-nouveau-mot-de-passe"
	if _, err := cli.Update(ctx, "ECOLE", Change{Password: &pw, KeepSession: here.Token}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Session(ctx, here.Token); !ok {
		t.Error("the session the password was changed from ended")
	}
	if _, _, ok := s.Session(ctx, other.Token); ok {
		t.Error("another session of the user survived a new password")
	}
	names, next, err := s.Changes(ctx, since)
	if err != nil || !slices.Equal(names, []string{"ecole"}) || next <= since {
		t.Fatalf("changes since %d: %v %d %v", since, names, next, err)
	}
	s.Forget(names...)
	if _, ok := s.Check(ctx, "ecole", "mot-de-passe-ecole"); ok {
		t.Error("the old password still checks")
	}
	if _, ok := s.Check(ctx, "ecole", pw); !ok {
		t.Error("the new password does not check")
	}

	yes := true
	u, err := s.Update(ctx, "ecole", Change{Disabled: &yes})
	if err != nil || !u.Disabled {
		t.Fatalf("disable: %+v %v", u, err)
	}
	if _, _, ok := s.Session(ctx, here.Token); ok {
		t.Error("a session of a disabled user survived")
	}
	if _, ok := s.Check(ctx, "ecole", pw); ok {
		t.Error("a disabled user's password checks")
	}
	if _, _, err := s.Login(ctx, "ecole", pw); err == nil {
		t.Error("a disabled user logged in")
	}
	list, _ := s.List(ctx)
	if len(list) != 2 || !list[0].Disabled || list[1].Disabled || list[0].LastLogin.IsZero() || !list[1].LastLogin.IsZero() {
		t.Errorf("list: %+v", list)
	}
}

// Whoever asks, the last enabled office user is never removed, disabled
// or given another role; a second office user lifts the rule.
func TestLastOfficeUser(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestStore(t)
	mustAdd(t, s, "marie", auth.RoleOffice, "", "mot-de-passe-marie")
	mustAdd(t, s, "cuisine", auth.RoleKitchen, "", "mot-de-passe-cuisine")
	yes, kitchen := true, auth.RoleKitchen
	for name, try := range map[string]func() error{
		"disable": func() error { _, err := s.Update(ctx, "marie", Change{Disabled: &yes}); return err },
		"role":    func() error { _, err := s.Update(ctx, "marie", Change{Role: &kitchen}); return err },
		"remove":  func() error { return s.Remove(ctx, "marie") },
	} {
		if err := try(); !errors.Is(err, ErrLastOffice) {
			t.Errorf("%s the last office user: %v, want ErrLastOffice", name, err)
		}
	}
	if _, ok := s.Check(ctx, "marie", "mot-de-passe-marie"); !ok {
		t.Error("marie was changed by a refused change")
	}
	mustAdd(t, s, "paul", auth.RoleOffice, "", "mot-de-passe-paul")
	if err := s.Remove(ctx, "marie"); err != nil {
		t.Errorf("remove marie beside paul: %v", err)
	}
	if err := s.Remove(ctx, "marie"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove marie twice: %v, want ErrNotFound", err)
	}
	if _, err := s.Update(ctx, "cuisine", Change{Role: &kitchen, Site: new(string)}); err != nil {
		t.Errorf("a no-op change of a kitchen user: %v", err)
	}
}
