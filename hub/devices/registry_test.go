package devices

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestAddListGet(t *testing.T) {
	r, clock := newTestRegistry(t)
	ctx := context.Background()
	mustAdd(t, r, "victor-hugo", "vh-cantine-1", "secret-vh-1")
	clock.advance(time.Hour)
	mustAdd(t, r, "jules-ferry", "jf-garderie", "secret-jf-2")
	mustAdd(t, r, "jules-ferry", "jf-cantine-1", "")

	list, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range list {
		got = append(got, d.Site+"/"+d.ID+" "+d.CreatedAt.Format(time.RFC3339))
	}
	want := []string{
		"jules-ferry/jf-cantine-1 2026-11-24T09:00:00Z",
		"jules-ferry/jf-garderie 2026-11-24T09:00:00Z",
		"victor-hugo/vh-cantine-1 2026-11-24T08:00:00Z",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("List:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	d, err := r.Get(ctx, "vh-cantine-1")
	if err != nil || d.Site != "victor-hugo" || !d.CreatedAt.Equal(d.PasswordChangedAt) {
		t.Errorf("Get = %+v, %v", d, err)
	}
	if _, err := r.Get(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestAddRefusesAnExistingDevice(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	mustAdd(t, r, "jules-ferry", "jf-cantine-1", "first-password")
	for _, site := range []string{"jules-ferry", "victor-hugo"} {
		_, _, err := r.Add(ctx, site, "jf-cantine-1", "second-password")
		if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), `"jules-ferry"`) {
			t.Errorf("Add again at %s: error = %v, want ErrExists naming the site", site, err)
		}
	}
	if _, ok := r.Verify(ctx, "jf-cantine-1", "first-password"); !ok {
		t.Error("the first password no longer works")
	}
	if _, ok := r.Verify(ctx, "jf-cantine-1", "second-password"); ok {
		t.Error("the second Add overwrote the password")
	}
}

func TestAddValidates(t *testing.T) {
	r, _ := newTestRegistry(t)
	for _, tc := range []struct {
		name, site, device, password string
		want                         error
	}{
		{"upper-case site", "Jules-Ferry", "jf-1", "", ErrInvalidID},
		{"site with a slash", "jules/ferry", "jf-1", "", ErrInvalidID},
		{"device with a wildcard", "jules-ferry", "jf-+", "", ErrInvalidID},
		{"device starting with a dash", "jules-ferry", "-jf", "", ErrInvalidID},
		{"empty device", "jules-ferry", "", "", ErrInvalidID},
		{"device of 64 characters", "jules-ferry", strings.Repeat("d", 64), "", ErrInvalidID},
		{"7 characters", "jules-ferry", "jf-1", "1234567", ErrBadPassword},
		{"7 characters and a newline", "jules-ferry", "jf-1", "1234567\n", ErrBadPassword},
		{"73 bytes", "jules-ferry", "jf-1", strings.Repeat("p", 73), ErrBadPassword},
		{"8 characters", "jules-ferry", "jf-2", "12345678", nil},
		{"8 accented characters", "jules-ferry", "jf-3", "éééééééé", nil},
		{"device of 63 characters", "jules-ferry", strings.Repeat("d", 63), "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := r.Add(context.Background(), tc.site, tc.device, tc.password)
			if !errors.Is(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestGeneratedPasswords(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	p1 := mustAdd(t, r, "jules-ferry", "jf-1", "")
	p2 := mustAdd(t, r, "jules-ferry", "jf-2", "")
	if len(p1) < 20 || p1 == p2 || checkPassword(p1) != nil {
		t.Errorf("generated passwords %q and %q", p1, p2)
	}
	if _, ok := r.Verify(ctx, "jf-1", p1); !ok {
		t.Error("the generated password does not verify")
	}
	if _, ok := r.Verify(ctx, "jf-1", p2); ok {
		t.Error("another device's password verifies")
	}
}

func TestStoredHashes(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	mustAdd(t, r, "jules-ferry", "jf-1", "the-password")
	var bh, mh string
	if err := r.db.QueryRowContext(ctx, `SELECT bcrypt_hash, mosquitto_hash FROM devices`).Scan(&bh, &mh); err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(bh)); err != nil || cost != r.bcrypt.Cost {
		t.Errorf("bcrypt cost %d (%v)", cost, err)
	}
	if !strings.HasPrefix(mh, "$7$101$") || strings.Contains(mh+bh, "the-password") {
		t.Errorf("mosquitto hash %q", mh)
	}
}

// The expected hash was written by mosquitto_passwd 2.0.11 (hub / hubpass).
func TestMosquittoHashMatchesMosquittoPasswd(t *testing.T) {
	const want = "$7$101$MnLX7LtQa8Yg3KX6$xGNlafjTlpn36hvIAQfcaakN/F5X3LdPtaIXZikHLxhTNocMFry9vZBm+Xs8TnMPkxTeZizOtgjJKvBb06+P+g=="
	salt := []byte{0x32, 0x72, 0xd7, 0xec, 0xbb, 0x50, 0x6b, 0xc6, 0x20, 0xdc, 0xa5, 0xfa}
	got, err := mosquittoHashSalt("hubpass", salt)
	if err != nil || got != want {
		t.Errorf("got %q (%v)\nwant %q", got, err, want)
	}
}

func TestVerifyCachesSuccessesOnly(t *testing.T) {
	r, clock := newTestRegistry(t)
	ctx := context.Background()
	mustAdd(t, r, "jules-ferry", "jf-1", "good-password")
	checks := func() int64 { return r.bcrypt.Checks() }
	verify := func(device, password string, wantOK bool, wantChecks int64) {
		t.Helper()
		before := checks()
		d, ok := r.Verify(ctx, device, password)
		if ok != wantOK || ok && d.Site != "jules-ferry" {
			t.Errorf("Verify(%s, %s) = %+v, %v; want ok %v", device, password, d, ok, wantOK)
		}
		if got := checks() - before; got != wantChecks {
			t.Errorf("Verify(%s, %s) ran %d bcrypt checks, want %d", device, password, got, wantChecks)
		}
	}
	verify("jf-1", "good-password", true, 1)
	verify("jf-1", "good-password", true, 0) // cached
	verify("jf-1", "bad-password", false, 1) // a cached success does not let another password in
	verify("jf-1", "bad-password", false, 1) // failures are not cached
	verify("jf-1", "good-password", true, 0) // and do not evict the success
	verify("nobody", "good-password", false, 1)
	verify("jf-1", "", false, 0)

	clock.advance(DefaultCacheTTL)
	verify("jf-1", "good-password", true, 1) // expired
	verify("jf-1", "good-password", true, 0)

	pw, err := r.SetPassword(ctx, "jf-1", "")
	if err != nil {
		t.Fatal(err)
	}
	verify("jf-1", "good-password", false, 1) // the rotation dropped the cached check
	verify("jf-1", pw, true, 1)
	if _, err := r.SetPassword(ctx, "nobody", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword(unknown) error = %v, want ErrNotFound", err)
	}
	if site, ok := r.Authenticate(ctx, "jf-1", pw); !ok || site != "jules-ferry" {
		t.Errorf("Authenticate = %q, %v", site, ok)
	}
}

func TestVerifyCacheIsBounded(t *testing.T) {
	r, _ := newTestRegistry(t)
	r.cache.SetMax(3)
	ctx := context.Background()
	for i := range 10 {
		dev := fmt.Sprintf("d-%d", i)
		mustAdd(t, r, "s", dev, "password-"+dev)
		if _, ok := r.Verify(ctx, dev, "password-"+dev); !ok {
			t.Fatalf("Verify %s failed", dev)
		}
		if n := r.cache.Len(); n > 3 {
			t.Fatalf("%d cache entries", n)
		}
	}
}

func TestVerifyConcurrently(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	mustAdd(t, r, "s", "d-1", "password-1")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				pw := "password-1"
				if (i+j)%3 == 0 {
					pw = "wrong-password"
				}
				if _, ok := r.Verify(ctx, "d-1", pw); ok != (pw == "password-1") {
					t.Errorf("Verify(%s) = %v", pw, ok)
				}
			}
		})
	}
	wg.Wait()
}
