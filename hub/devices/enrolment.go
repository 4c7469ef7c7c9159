package devices

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"pointage/hub/db"
)

// schemaV3 is what enrolment (docs/DESIGN.md §14) adds to hub.db: one
// enrolment code per device, kept as its SHA-256 (a code is random, 59
// bits: a slow hash would add nothing), valid CodeValidity and usable once.
// A new code replaces the device's previous one; removing the device
// removes its code.
const schemaV3 = `
CREATE TABLE enrolment_codes (
	device      TEXT PRIMARY KEY REFERENCES devices (device) ON DELETE CASCADE,
	code_sha256 TEXT NOT NULL UNIQUE, -- hex SHA-256 of the code's 12 characters, upper case, no dashes
	issued_at   TEXT NOT NULL,        -- RFC 3339, UTC
	expires_at  TEXT NOT NULL,
	used_at     TEXT NOT NULL DEFAULT '' -- '' until redeemed
) STRICT;
`

const (
	// CodeValidity is how long an enrolment code can be redeemed.
	CodeValidity = 7 * 24 * time.Hour
	// codeAlphabet has no 0/O, 1/I/L: a code is read off paper or a phone
	// and typed on a school's box.
	codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	codeLen      = 12 // 31^12: 59 bits
	codeGroup    = 4  // shown as ABCD-EFGH-JKMN
)

// Credentials are what a device is given once, when it is registered or
// given a new password: the password and an enrolment code that the
// device's `pointage-agent enrol` redeems (docs/DESIGN.md §14). Neither is
// kept: only hashes are.
type Credentials struct {
	Device      Device
	Password    string
	Code        string    // "ABCD-EFGH-JKMN"
	CodeExpires time.Time // CodeValidity after it was issued
}

// Enrol registers device at site, as Add does, and issues its enrolment
// code, in one transaction: both are returned, to be shown once.
func (r *Registry) Enrol(ctx context.Context, site, device, password string) (Credentials, error) {
	if err := checkIDs(site, device); err != nil {
		return Credentials{}, err
	}
	pw, bh, mh, err := r.hashes(password)
	if err != nil {
		return Credentials{}, fmt.Errorf("add device %q: %w", device, err)
	}
	var c Credentials
	err = db.WithTx(ctx, r.db, func(tx *sql.Tx) error {
		d, err := r.insert(ctx, tx, site, device, bh, mh)
		if err != nil {
			return err
		}
		c = Credentials{Device: d, Password: pw}
		c.Code, c.CodeExpires, err = r.issueCode(ctx, tx, device)
		return err
	})
	if err != nil {
		return Credentials{}, err
	}
	r.log.Info("device registered", "site", site, "device", device, "enrolment_code_expires", c.CodeExpires)
	return c, nil
}

// Renew gives a device a new password (empty: generated), as SetPassword
// does, and a new enrolment code replacing its previous one, in one
// transaction: for a replaced box, or a code lost or expired.
func (r *Registry) Renew(ctx context.Context, device, password string) (Credentials, error) {
	pw, bh, mh, err := r.hashes(password)
	if err != nil {
		return Credentials{}, fmt.Errorf("set password of device %q: %w", device, err)
	}
	c := Credentials{Password: pw}
	err = db.WithTx(ctx, r.db, func(tx *sql.Tx) error {
		if err := r.update(ctx, tx, device, bh, mh); err != nil {
			return err
		}
		d, err := scanDevice(tx.QueryRowContext(ctx, selectDevice+` WHERE device = ?`, device))
		if err != nil {
			return fmt.Errorf("set password of device %q: %w", device, err)
		}
		c.Device = d
		c.Code, c.CodeExpires, err = r.issueCode(ctx, tx, device)
		return err
	})
	if err != nil {
		return Credentials{}, err
	}
	r.cache.Invalidate(device)
	r.log.Info("device password changed, new enrolment code", "device", device, "enrolment_code_expires", c.CodeExpires)
	return c, nil
}

// issueCode draws a code for device and stores its hash, replacing the
// device's previous code.
func (r *Registry) issueCode(ctx context.Context, tx *sql.Tx, device string) (string, time.Time, error) {
	raw, err := newCode()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("enrolment code of device %q: %w", device, err)
	}
	now := r.now().UTC().Truncate(time.Second)
	expires := now.Add(CodeValidity)
	if _, err := tx.ExecContext(ctx, `INSERT INTO enrolment_codes (device, code_sha256, issued_at, expires_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (device) DO UPDATE SET
		code_sha256 = excluded.code_sha256, issued_at = excluded.issued_at, expires_at = excluded.expires_at, used_at = ''`,
		device, codeHash(raw), now.Format(time.RFC3339), expires.Format(time.RFC3339)); err != nil {
		return "", time.Time{}, fmt.Errorf("enrolment code of device %q: %w", device, err)
	}
	return FormatCode(raw), expires, nil
}

// Redeem checks an enrolment code and consumes it, atomically: of two
// redeemers of one code, one gets the device, the other ErrCodeUsed. The
// code is read whatever its case, dashes and spaces. ErrCodeUnknown (never
// issued, replaced, its device removed, or not a code at all),
// ErrCodeUsed, ErrCodeExpired (now is CodeValidity or more after it was
// issued).
func (r *Registry) Redeem(ctx context.Context, code string, now time.Time) (Device, error) {
	raw, ok := NormalizeCode(code)
	if !ok {
		return Device{}, ErrCodeUnknown
	}
	h := codeHash(raw)
	var d Device
	err := db.WithTx(ctx, r.db, func(tx *sql.Tx) error {
		var device, expiresAt, usedAt string
		err := tx.QueryRowContext(ctx, `SELECT device, expires_at, used_at FROM enrolment_codes WHERE code_sha256 = ?`, h).
			Scan(&device, &expiresAt, &usedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrCodeUnknown
		} else if err != nil {
			return err
		}
		if usedAt != "" {
			return fmt.Errorf("%w (at %s)", ErrCodeUsed, usedAt)
		}
		expires, err := time.Parse(time.RFC3339, expiresAt)
		if err != nil {
			return fmt.Errorf("enrolment code of device %q: %w", device, err)
		}
		if !now.Before(expires) {
			return fmt.Errorf("%w (on %s)", ErrCodeExpired, expiresAt)
		}
		res, err := tx.ExecContext(ctx, `UPDATE enrolment_codes SET used_at = ? WHERE code_sha256 = ? AND used_at = ''`,
			now.UTC().Format(time.RFC3339), h)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return ErrCodeUsed
		}
		d, err = scanDevice(tx.QueryRowContext(ctx, selectDevice+` WHERE device = ?`, device))
		return err
	})
	if err != nil {
		return Device{}, fmt.Errorf("redeem enrolment code: %w", err)
	}
	r.log.Info("enrolment code redeemed", "site", d.Site, "device", d.ID)
	return d, nil
}

// newCode draws codeLen characters of codeAlphabet, uniformly.
func newCode() (string, error) {
	var b strings.Builder
	n := big.NewInt(int64(len(codeAlphabet)))
	for range codeLen {
		i, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", err
		}
		b.WriteByte(codeAlphabet[i.Int64()])
	}
	return b.String(), nil
}

// FormatCode writes a code's 12 characters in groups: "ABCD-EFGH-JKMN".
func FormatCode(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i += codeGroup {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(raw[i:min(i+codeGroup, len(raw))])
	}
	return b.String()
}

// NormalizeCode reads a code as typed: any case, dashes and spaces
// anywhere. It returns its 12 characters, upper case, and whether it is a
// code at all.
func NormalizeCode(s string) (string, bool) {
	var b strings.Builder
	for _, c := range strings.ToUpper(s) {
		switch {
		case c == '-' || c == ' ' || c == '\t':
		case c < 128 && strings.IndexByte(codeAlphabet, byte(c)) >= 0:
			b.WriteRune(c)
		default:
			return "", false
		}
		if b.Len() > codeLen {
			return "", false
		}
	}
	return b.String(), b.Len() == codeLen
}

func codeHash(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}
