// Package backup takes and restores the hub's backups (docs/DESIGN.md §13):
// one gzip-compressed tar file holding a consistent copy of every SQLite
// database of the data folder, hub.db first, each copied online with
// VACUUM INTO (a running hub goes on writing) and integrity-checked, listed
// with its size and SHA-256 in a manifest, the file's first entry. Restore
// checks all of it before it touches the data folder, and refuses a folder
// a running hub holds (the run lock, lock.go). Schedule (schedule.go) takes
// them periodically for `run --backup-dir`.
//
// hub.db is copied before the other databases so that a backup's store
// holds at least what its hub.db says was stored: a restored hub asks the
// agents for the rest (recovery, hub/ingest) and the store keeps one copy
// of each check-in sent again.
package backup

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// ManifestName is the name of a backup's first entry.
const ManifestName = "pointage-backup.json"

// Format is the manifest's format field of the backups this package makes.
const Format = "pointage-backup/1"

// HubDB is the hub's state database, copied first and checked for its
// schema version on restore.
const HubDB = "hub.db"

// File is one database of a backup.
type File struct {
	Name          string `json:"name"`
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256"`
	SchemaVersion int    `json:"schema_version"` // PRAGMA user_version
}

// Manifest describes a backup.
type Manifest struct {
	Format     string    `json:"format"`
	CreatedAt  time.Time `json:"created_at"`
	HubVersion string    `json:"hub_version"`
	Files      []File    `json:"files"`
}

// Size is the databases' total size.
func (m Manifest) Size() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// Options are what Take and Restore need besides their arguments.
type Options struct {
	HubVersion string           // written in the manifest
	HubSchema  int              // Restore: the newest hub.db schema this program knows (0: not checked)
	Now        func() time.Time // default time.Now
	Progress   func(msg string) // told each step; nil: quiet
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

var sqliteHeader = []byte("SQLite format 3\x00")

// Databases lists the SQLite databases of dir (files named *.db whose
// header is SQLite's), hub.db first, then by name.
func Databases(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".db") {
			continue
		}
		ok, err := isSQLite(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e.Name())
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(boolRank(a != HubDB), boolRank(b != HubDB)), cmp.Compare(a, b))
	})
	return out, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isSQLite(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return bytes.Equal(head[:n], sqliteHeader), nil
}

// openSQLite opens an existing database without changing its settings.
func openSQLite(path string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	if readOnly {
		q.Set("mode", "ro")
	}
	d, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	d.SetMaxOpenConns(1)
	return d, nil
}

// check runs SQLite's integrity check on the database at path and returns
// its schema version (PRAGMA user_version).
func check(ctx context.Context, path string) (int, error) {
	d, err := openSQLite(path, true)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	rows, err := d.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return 0, fmt.Errorf("integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return 0, fmt.Errorf("integrity check: %w", err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("integrity check: %w", err)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
		}
		return 0, fmt.Errorf("integrity check failed: %s", strings.Join(problems, "; "))
	}
	var v int
	if err := d.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read the schema version: %w", err)
	}
	return v, nil
}

// Take writes a backup of every database of dataDir to out: each one is
// copied with VACUUM INTO into a temporary folder beside out (a
// consistent snapshot, while a hub writes), checked, then put in the
// archive; the archive is written to out.tmp, synced and renamed, so out
// is either the whole backup or not there.
func Take(ctx context.Context, dataDir, out string, opts Options) (Manifest, error) {
	names, err := Databases(dataDir)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: read the data folder: %w", err)
	}
	if !slices.Contains(names, HubDB) {
		return Manifest{}, fmt.Errorf("backup: %s has no %s: is --data-dir the hub's data folder?", dataDir, HubDB)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o750); err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	tmpDir, err := os.MkdirTemp(filepath.Dir(out), ".pointage-backup-*")
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmpDir)

	m := Manifest{Format: Format, CreatedAt: opts.now().UTC(), HubVersion: opts.HubVersion}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return Manifest{}, err
		}
		opts.progress("copying %s…", name)
		copyPath := filepath.Join(tmpDir, name)
		if err := vacuumInto(ctx, filepath.Join(dataDir, name), copyPath); err != nil {
			return Manifest{}, fmt.Errorf("backup: copy %s: %w", name, err)
		}
		opts.progress("checking %s…", name)
		v, err := check(ctx, copyPath)
		if err != nil {
			return Manifest{}, fmt.Errorf("backup: the copy of %s: %w", name, err)
		}
		size, sum, err := hashFile(copyPath)
		if err != nil {
			return Manifest{}, fmt.Errorf("backup: %w", err)
		}
		m.Files = append(m.Files, File{Name: name, Size: size, SHA256: sum, SchemaVersion: v})
	}
	opts.progress("writing %s…", out)
	if err := writeArchive(out, tmpDir, m); err != nil {
		return Manifest{}, fmt.Errorf("backup: write %s: %w", out, err)
	}
	return m, nil
}

func vacuumInto(ctx context.Context, src, dst string) error {
	d, err := openSQLite(src, false)
	if err != nil {
		return err
	}
	defer d.Close()
	_, err = d.ExecContext(ctx, "VACUUM INTO ?", dst)
	return err
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

func writeArchive(out, dir string, m Manifest) (err error) {
	tmp := out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o600, Size: int64(len(manifest)), ModTime: m.CreatedAt, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if _, err := tw.Write(manifest); err != nil {
		return err
	}
	for _, file := range m.Files {
		if err := addFile(tw, filepath.Join(dir, file.Name), file, m.CreatedAt); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	return syncDir(filepath.Dir(out))
}

func addFile(tw *tar.Writer, path string, file File, mod time.Time) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := tw.WriteHeader(&tar.Header{Name: file.Name, Mode: 0o600, Size: file.Size, ModTime: mod, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// NotABackupError is the error of a file that is not a whole backup:
// truncated, corrupted, or something else.
type NotABackupError struct {
	File   string
	Reason string
}

func (e *NotABackupError) Error() string {
	return fmt.Sprintf("%s is not a usable pointage backup (%s): nothing was changed; use another backup file (pointage-backup-*.tar.gz)", e.File, e.Reason)
}

// Extract checks the backup in file and extracts its databases into dir
// (which must exist and is expected empty): the manifest first, each file
// with the size and SHA-256 it lists, each database's integrity check and,
// with opts.HubSchema, a hub.db schema this program can open.
func Extract(ctx context.Context, file, dir string, opts Options) (Manifest, error) {
	bad := func(format string, args ...any) error {
		return &NotABackupError{File: file, Reason: fmt.Sprintf(format, args...)}
	}
	f, err := os.Open(file)
	if err != nil {
		return Manifest{}, fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return Manifest{}, bad("not a gzip file: %v", err)
	}
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil {
		return Manifest{}, bad("no manifest: %v", err)
	}
	if hdr.Name != ManifestName || hdr.Size > 1<<20 {
		return Manifest{}, bad("its first entry is %q, not %s", hdr.Name, ManifestName)
	}
	raw, err := io.ReadAll(tr)
	if err != nil {
		return Manifest{}, bad("manifest: %v", err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return Manifest{}, bad("manifest: %v", err)
	}
	if m.Format != Format {
		return Manifest{}, bad("format %q, this pointage-hub reads %q", m.Format, Format)
	}
	if len(m.Files) == 0 || m.Files[0].Name != HubDB {
		return Manifest{}, bad("the manifest does not list %s first", HubDB)
	}
	seen := map[string]bool{}
	for _, want := range m.Files {
		if want.Name != filepath.Base(want.Name) || !strings.HasSuffix(want.Name, ".db") || seen[want.Name] {
			return Manifest{}, bad("the manifest lists %q", want.Name)
		}
		seen[want.Name] = true
	}
	for _, want := range m.Files {
		if err := ctx.Err(); err != nil {
			return Manifest{}, err
		}
		hdr, err := tr.Next()
		if err != nil {
			return Manifest{}, bad("%s is missing (%v): the file is truncated", want.Name, err)
		}
		if hdr.Name != want.Name || hdr.Size != want.Size {
			return Manifest{}, bad("entry %q of %d bytes where the manifest lists %s of %d bytes", hdr.Name, hdr.Size, want.Name, want.Size)
		}
		opts.progress("checking %s (%d bytes)…", want.Name, want.Size)
		path := filepath.Join(dir, want.Name)
		if err := extractFile(tr, path, want); err != nil {
			return Manifest{}, bad("%s: %v", want.Name, err)
		}
		v, err := check(ctx, path)
		if err != nil {
			return Manifest{}, bad("%s: %v", want.Name, err)
		}
		if v != want.SchemaVersion {
			return Manifest{}, bad("%s: schema version %d, the manifest says %d", want.Name, v, want.SchemaVersion)
		}
		if want.Name == HubDB && opts.HubSchema > 0 && v > opts.HubSchema {
			return Manifest{}, fmt.Errorf("restore: the backup's hub.db has schema version %d, newer than this pointage-hub's (%d): restore it with the pointage-hub that made it (%s) or a newer one; nothing was changed", v, opts.HubSchema, cmp.Or(m.HubVersion, "unknown version"))
		}
	}
	if hdr, err := tr.Next(); err != io.EOF {
		name := ""
		if hdr != nil {
			name = hdr.Name
		}
		return Manifest{}, bad("unexpected content after the databases (%q, %v)", name, err)
	}
	// The gzip trailer (CRC-32 and length of the whole) is checked at its end.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return Manifest{}, bad("its end is missing or damaged (%v): the file is truncated", err)
	}
	return m, nil
}

func extractFile(r io.Reader, path string, want File) error {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), r)
	if err != nil {
		out.Close()
		return fmt.Errorf("truncated or damaged after %d of %d bytes (%v)", n, want.Size, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if n != want.Size {
		return fmt.Errorf("%d bytes, the manifest says %d", n, want.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != want.SHA256 {
		return fmt.Errorf("SHA-256 %s, the manifest says %s: the file is damaged", sum[:12], want.SHA256[:min(12, len(want.SHA256))])
	}
	return nil
}

// Verify checks the backup in file as Restore would, changing nothing.
func Verify(ctx context.Context, file string, opts Options) (Manifest, error) {
	dir, err := os.MkdirTemp("", "pointage-verify-*")
	if err != nil {
		return Manifest{}, err
	}
	defer os.RemoveAll(dir)
	return Extract(ctx, file, dir, opts)
}

// Restored says what Restore did.
type Restored struct {
	Manifest Manifest
	MovedTo  string // the folder the data folder's previous files were moved to ("" when it was empty)
}

// ErrNotEmpty is the error of Restore into a folder that holds databases,
// without force.
var ErrNotEmpty = errors.New("the data folder is not empty")

// Restore checks the backup in file (Extract, into a folder beside
// dataDir) and, only if all of it is sound, puts its databases in
// dataDir. A dataDir holding databases is refused unless force: then its
// databases and their -wal and -shm files are moved to
// dataDir/replaced-YYYYMMDD-HHMMSS first. A hub running on dataDir is
// refused (its run lock); the lock is held until Restore returns.
func Restore(ctx context.Context, file, dataDir string, force bool, opts Options) (Restored, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return Restored{}, fmt.Errorf("restore: %w", err)
	}
	unlock, err := LockDataDir(dataDir)
	if err != nil {
		return Restored{}, fmt.Errorf("restore: %w", err)
	}
	defer unlock()
	present, err := presentFiles(dataDir)
	if err != nil {
		return Restored{}, fmt.Errorf("restore: read %s: %w", dataDir, err)
	}
	if len(present) > 0 && !force {
		return Restored{}, fmt.Errorf("restore: %w: %s holds %s; restore into an empty folder, or give --force to move these files aside (into %s/replaced-…) first", ErrNotEmpty, dataDir, strings.Join(present, ", "), dataDir)
	}
	tmpDir, err := os.MkdirTemp(dataDir, ".pointage-restore-*")
	if err != nil {
		return Restored{}, fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	m, err := Extract(ctx, file, tmpDir, opts)
	if err != nil {
		return Restored{}, err
	}
	var res Restored
	res.Manifest = m
	if len(present) > 0 {
		res.MovedTo = filepath.Join(dataDir, "replaced-"+opts.now().Format("20060102-150405"))
		if err := os.Mkdir(res.MovedTo, 0o750); err != nil {
			return Restored{}, fmt.Errorf("restore: %w", err)
		}
		for _, name := range present {
			if err := os.Rename(filepath.Join(dataDir, name), filepath.Join(res.MovedTo, name)); err != nil {
				return Restored{}, fmt.Errorf("restore: move %s aside: %w (the files already moved are in %s)", name, err, res.MovedTo)
			}
		}
		opts.progress("moved %s to %s", strings.Join(present, ", "), res.MovedTo)
	}
	for _, f := range m.Files {
		if err := os.Rename(filepath.Join(tmpDir, f.Name), filepath.Join(dataDir, f.Name)); err != nil {
			return Restored{}, fmt.Errorf("restore: put %s in place: %w", f.Name, err)
		}
	}
	if err := syncDir(dataDir); err != nil {
		return Restored{}, fmt.Errorf("restore: %w", err)
	}
	return res, nil
}

// presentFiles lists dataDir's databases and their journals: what a
// restore would replace.
func presentFiles(dataDir string) ([]string, error) {
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(n, ".db") || strings.HasSuffix(n, ".db-wal") || strings.HasSuffix(n, ".db-shm") || strings.HasSuffix(n, ".db-journal")) {
			out = append(out, n)
		}
	}
	return out, nil
}
