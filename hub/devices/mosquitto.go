package devices

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"pointage/internal/atomicfile"
	"pointage/internal/wire"
)

// HubUser is the user name the ACL file gives the hub's own MQTT account on
// an external broker. The operator creates it (mosquitto_passwd) and puts it
// in the hub's --mqtt-url.
const HubUser = "pointage-hub"

// Names and modes of the files WriteMosquittoConfig writes.
const (
	PasswdFile = "passwd" // 0600: hashes only, still not for everyone's eyes
	ACLFile    = "acl"    // 0644
)

// WriteMosquittoConfig writes, in dir, a mosquitto password file and an ACL
// file for every registered device under the default topic root; see
// WriteMosquittoConfigRoot.
func (r *Registry) WriteMosquittoConfig(ctx context.Context, dir string) error {
	return r.WriteMosquittoConfigRoot(ctx, dir, wire.DefaultRoot)
}

// WriteMosquittoConfigRoot writes dir/passwd and dir/acl for an external
// mosquitto (2.x) so it enforces docs/DESIGN.md §3's device identity: each device
// logs in with its id and password, may publish only its own checkin and
// status and read only its own ack and cmd. The password file is built from
// the stored $7$ hashes, so no password is needed. Lines of an existing
// dir/passwd whose user is not a registered device (the hub's own account,
// added with mosquitto_passwd) are kept. Both files are replaced atomically,
// keeping the permissions of the files they replace. The hub calls it after
// each change made in the dashboard when --mosquitto-dir is set.
func (r *Registry) WriteMosquittoConfigRoot(ctx context.Context, dir, root string) error {
	if root == "" {
		root = wire.DefaultRoot
	}
	if strings.ContainsAny(root, "/+#") {
		return fmt.Errorf("mosquitto config: topic root %q must be one topic level", root)
	}
	rows, err := r.db.QueryContext(ctx, `SELECT site, device, mosquitto_hash FROM devices ORDER BY site, device`)
	if err != nil {
		return fmt.Errorf("mosquitto config: %w", err)
	}
	type dev struct{ site, id, hash string }
	var devs []dev
	for rows.Next() {
		var d dev
		if err := rows.Scan(&d.site, &d.id, &d.hash); err != nil {
			rows.Close()
			return fmt.Errorf("mosquitto config: %w", err)
		}
		devs = append(devs, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("mosquitto config: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("mosquitto config: %w", err)
	}
	passwdPath, aclPath := filepath.Join(dir, PasswdFile), filepath.Join(dir, ACLFile)
	isDevice := make(map[string]bool, len(devs))
	for _, d := range devs {
		isDevice[d.id] = true
	}
	kept, err := otherUsers(passwdPath, isDevice)
	if err != nil {
		return fmt.Errorf("mosquitto config: %w", err)
	}

	var pw bytes.Buffer
	fmt.Fprintf(&pw, passwdHeader+`
# One line per registered device (user name = device id); $7$ = PBKDF2-SHA512,
# as mosquitto_passwd 2.x writes it. Written again by "broker-config mosquitto"
# and, with --mosquitto-dir, by the running hub after each device change made
# in the dashboard; reload mosquitto afterwards (SIGHUP). Users that are not
# devices, such as the hub's own %[1]q, are listed after the last comment
# and kept. Do not run mosquitto_passwd on this file: mosquitto_passwd 2.0
# takes the comments for corruption and keeps only the user it writes. Create
# the hub's account before the first broker-config
# (mosquitto_passwd -c %[2]s %[1]s), or add its line below by hand.
# mosquitto must be able to read this file (its group, mode 640).
`, HubUser, passwdPath)
	for _, d := range devs {
		fmt.Fprintf(&pw, "%s:%s\n", d.id, d.hash)
	}
	pw.WriteString(keptMarker + "\n")
	for _, l := range kept {
		pw.WriteString(l + "\n")
	}

	var acl bytes.Buffer
	fmt.Fprintf(&acl, `# mosquitto ACL file written by "pointage-hub broker-config mosquitto".
# mosquitto.conf (mosquitto 2.x):
#   allow_anonymous false
#   password_file %[1]s
#   acl_file %[2]s
#   max_queued_messages 100000
#   max_inflight_messages 1000
# Each device may publish only its own checkin and status (its last will is
# its status) and subscribe only to its own ack and cmd. The hub logs in as
# %[3]q: create that user with "mosquitto_passwd -c %[1]s %[3]s" before
# the first broker-config and put it in the hub's --mqtt-username; the passwd
# file keeps it when written again.

user %[3]s
topic read %[4]s
topic read %[5]s
topic write %[6]s
topic write %[7]s
`, passwdPath, aclPath, HubUser,
		wire.Filter(root, wire.KindCheckIn), wire.Filter(root, wire.KindStatus),
		wire.Filter(root, wire.KindAck), wire.Filter(root, wire.KindCmd))
	site := ""
	for _, d := range devs {
		if d.site != site {
			site = d.site
			fmt.Fprintf(&acl, "\n# site %s\n", site)
		}
		t := func(kind string) string { return wire.DeviceTopic(root, d.site, d.id, kind) }
		fmt.Fprintf(&acl, "user %s\ntopic write %s\ntopic write %s\ntopic read %s\ntopic read %s\n",
			d.id, t(wire.KindCheckIn), t(wire.KindStatus), t(wire.KindAck), t(wire.KindCmd))
	}

	if err := writeFileAtomic(passwdPath, pw.Bytes(), 0o600); err != nil {
		return fmt.Errorf("mosquitto config: %w", err)
	}
	// acl last: a path unit watching it reloads mosquitto once both are in place.
	if err := writeFileAtomic(aclPath, acl.Bytes(), 0o644); err != nil {
		return fmt.Errorf("mosquitto config: %w", err)
	}
	r.log.Info("mosquitto files written", "passwd", passwdPath, "acl", aclPath, "devices", len(devs), "other_users", len(kept))
	return nil
}

// The first line of the password file, and the line after which its
// users that are not devices are listed (before it: the devices of the
// last writing, which are all dropped, so a removed device's line goes).
// Files written before keptMarker named its users that are not devices
// "(kept)", and had it only when there were some: before it too, only
// devices.
const (
	passwdHeader = `# mosquitto password file written by "pointage-hub broker-config mosquitto".`
	keptMarker   = "# users that are not devices (kept when the file is written again; add yours below this line)"
)

// otherUsers returns the lines of an existing password file whose user is
// not a device: in a file this package wrote, those after its marker; in
// another (hand-made, or rewritten by mosquitto_passwd, which drops the
// comments), every line whose user is not a registered device.
func otherUsers(path string, isDevice map[string]bool) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	var kept []string
	sc := bufio.NewScanner(f)
	ours, inKept := false, false
	for first := true; sc.Scan(); first = false {
		line := strings.TrimSpace(sc.Text())
		if first && line == passwdHeader {
			ours = true
		}
		if ours && strings.HasPrefix(line, "# users that are not devices (kept") {
			inKept = true
		}
		if line == "" || line[0] == '#' || ours && !inKept {
			continue
		}
		user, _, ok := strings.Cut(line, ":")
		if !ok || isDevice[user] {
			continue
		}
		kept = append(kept, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return kept, nil
}

// writeFileAtomic replaces path with data (internal/atomicfile). An
// existing file keeps its permissions (an operator's chmod 640 for
// mosquitto's group); a new one gets mode.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return atomicfile.Write(path, data, mode)
}
