package devices

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var codeShape = regexp.MustCompile(`^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$`)

func mustEnrol(t *testing.T, r *Registry, site, device string) Credentials {
	t.Helper()
	c, err := r.Enrol(context.Background(), site, device, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A device registered with Enrol gets a password that logs in and a code
// easy to type (12 characters without 0/O, 1/I/L, in groups of four),
// valid 7 days; Redeem gives the code's device once.
func TestEnrolIssuesACodeRedeemedOnce(t *testing.T) {
	r, clock := newTestRegistry(t)
	ctx := context.Background()
	c := mustEnrol(t, r, "jules-ferry", "jf-cantine-1")
	if !codeShape.MatchString(c.Code) {
		t.Fatalf("code %q: want ABCD-EFGH-JKMN, without 0 O 1 I L", c.Code)
	}
	if want := clock.now().Add(7 * 24 * time.Hour); !c.CodeExpires.Equal(want) {
		t.Errorf("code expires %v, want %v", c.CodeExpires, want)
	}
	if c.Device.ID != "jf-cantine-1" || c.Device.Site != "jules-ferry" || len(c.Password) < 20 {
		t.Errorf("credentials %+v", c)
	}
	if _, ok := r.Verify(ctx, "jf-cantine-1", c.Password); !ok {
		t.Error("the password Enrol returned does not log in")
	}
	d, err := r.Redeem(ctx, c.Code, clock.now().Add(time.Hour))
	if err != nil || d.ID != "jf-cantine-1" || d.Site != "jules-ferry" {
		t.Fatalf("Redeem = %+v, %v", d, err)
	}
	if _, err := r.Redeem(ctx, c.Code, clock.now().Add(2*time.Hour)); !errors.Is(err, ErrCodeUsed) {
		t.Errorf("Redeem twice: %v, want ErrCodeUsed", err)
	}
	if _, err := r.Enrol(ctx, "pasteur", "jf-cantine-1", ""); !errors.Is(err, ErrExists) {
		t.Errorf("Enrol an existing device: %v, want ErrExists", err)
	}
	if _, err := r.Enrol(ctx, "jules ferry", "jf-2", ""); !errors.Is(err, ErrInvalidID) || !strings.Contains(err.Error(), "site") {
		t.Errorf("Enrol with a bad site: %v, want ErrInvalidID naming the site", err)
	}
}

// Codes are typed by people: any case, dashes or spaces anywhere.
func TestRedeemReadsTheCodeAsTyped(t *testing.T) {
	r, clock := newTestRegistry(t)
	ctx := context.Background()
	for i, typed := range []func(string) string{
		strings.ToLower,
		func(c string) string { return strings.ReplaceAll(c, "-", "") },
		func(c string) string { return " " + strings.ReplaceAll(strings.ToLower(c), "-", " ") + " " },
		func(c string) string {
			return strings.ReplaceAll(c, "-", "")[:6] + "-" + strings.ReplaceAll(c, "-", "")[6:]
		},
	} {
		c := mustEnrol(t, r, "jules-ferry", fmt.Sprintf("jf-%d", i))
		in := typed(c.Code)
		if d, err := r.Redeem(ctx, in, clock.now()); err != nil || d.ID != c.Device.ID {
			t.Errorf("Redeem(%q) for %q = %+v, %v", in, c.Code, d, err)
		}
	}
	for _, bad := range []string{"", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKM0", "ABCD-EFGH-JKMÉ", "ABCD/EFGH/JKMN"} {
		if _, err := r.Redeem(ctx, bad, clock.now()); !errors.Is(err, ErrCodeUnknown) {
			t.Errorf("Redeem(%q): %v, want ErrCodeUnknown", bad, err)
		}
	}
}

// A code is valid 7 days, to the second.
func TestRedeemRefusesAnExpiredCode(t *testing.T) {
	r, clock := newTestRegistry(t)
	ctx := context.Background()
	a := mustEnrol(t, r, "jules-ferry", "jf-1")
	b := mustEnrol(t, r, "jules-ferry", "jf-2")
	issued := clock.now()
	if _, err := r.Redeem(ctx, a.Code, issued.Add(CodeValidity)); !errors.Is(err, ErrCodeExpired) {
		t.Errorf("Redeem at 7 days: %v, want ErrCodeExpired", err)
	}
	if _, err := r.Redeem(ctx, a.Code, issued.Add(CodeValidity-time.Second)); err != nil {
		t.Errorf("Redeem after expiry was refused, then 1 s before: %v, want the device", err)
	}
	if _, err := r.Redeem(ctx, b.Code, issued.Add(30*24*time.Hour)); !errors.Is(err, ErrCodeExpired) {
		t.Errorf("Redeem a month later: %v, want ErrCodeExpired", err)
	}
}

// Renew gives a new password and a new code; the old code no longer
// works (even unused), the new one does, and so does a new code after a
// used one. Removing the device removes its code.
func TestRenewReplacesTheCode(t *testing.T) {
	r, clock := newTestRegistry(t)
	ctx := context.Background()
	first := mustEnrol(t, r, "jules-ferry", "jf-1")
	clock.advance(time.Hour)
	if _, ok := r.Verify(ctx, "jf-1", first.Password); !ok { // cached now
		t.Fatal("the first password does not log in")
	}
	second, err := r.Renew(ctx, "jf-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if second.Code == first.Code || second.Password == first.Password || !codeShape.MatchString(second.Code) {
		t.Fatalf("Renew: %+v after %+v", second, first)
	}
	if !second.CodeExpires.Equal(clock.now().Add(CodeValidity)) || second.Device.Site != "jules-ferry" {
		t.Errorf("Renew: %+v", second)
	}
	if _, ok := r.Verify(ctx, "jf-1", first.Password); ok {
		t.Error("the old password still logs in (its cached check kept)")
	}
	if _, ok := r.Verify(ctx, "jf-1", second.Password); !ok {
		t.Error("the new password does not log in")
	}
	if _, err := r.Redeem(ctx, first.Code, clock.now()); !errors.Is(err, ErrCodeUnknown) {
		t.Errorf("the replaced code: %v, want ErrCodeUnknown", err)
	}
	if _, err := r.Redeem(ctx, second.Code, clock.now()); err != nil {
		t.Errorf("the new code: %v", err)
	}
	third, err := r.Renew(ctx, "jf-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Redeem(ctx, third.Code, clock.now()); err != nil {
		t.Errorf("a new code after a used one: %v", err)
	}
	if _, err := r.Renew(ctx, "nobody", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Renew an unknown device: %v, want ErrNotFound", err)
	}

	gone := mustEnrol(t, r, "jules-ferry", "jf-gone")
	if err := r.Remove(ctx, "jf-gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Redeem(ctx, gone.Code, clock.now()); !errors.Is(err, ErrCodeUnknown) {
		t.Errorf("the code of a removed device: %v, want ErrCodeUnknown", err)
	}
	// Registered again under the same id: a new code, the old one stays dead.
	again := mustEnrol(t, r, "pasteur", "jf-gone")
	if _, err := r.Redeem(ctx, gone.Code, clock.now()); !errors.Is(err, ErrCodeUnknown) {
		t.Errorf("the old code after the id is registered again: %v, want ErrCodeUnknown", err)
	}
	if d, err := r.Redeem(ctx, again.Code, clock.now()); err != nil || d.Site != "pasteur" {
		t.Errorf("the new registration's code: %+v, %v", d, err)
	}
}

// Two boxes redeeming one code at once: one gets it.
func TestRedeemIsAtomic(t *testing.T) {
	r, clock := newTestRegistry(t)
	c := mustEnrol(t, r, "jules-ferry", "jf-1")
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.Redeem(context.Background(), c.Code, clock.now())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrCodeUsed):
			t.Errorf("Redeem: %v, want nil or ErrCodeUsed", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent redeems succeeded, want 1", ok, n)
	}
}

// Only the code's hash is stored.
func TestCodeNotStored(t *testing.T) {
	r, _ := newTestRegistry(t)
	c := mustEnrol(t, r, "jules-ferry", "jf-1")
	raw, _ := NormalizeCode(c.Code)
	var n int
	if err := r.db.QueryRow(`SELECT count(*) FROM enrolment_codes WHERE code_sha256 = ? AND instr(code_sha256, ?) = 0`,
		codeHash(raw), raw).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored code: %d rows, %v", n, err)
	}
	var dump string
	if err := r.db.QueryRow(`SELECT group_concat(device || issued_at || expires_at || used_at) FROM enrolment_codes`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dump, raw) || strings.Contains(dump, c.Code) {
		t.Errorf("the code is stored in clear: %q", dump)
	}
}
