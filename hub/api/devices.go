package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
	"golang.org/x/mod/semver"

	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/devices"
	"pointage/hub/ingest"
	"pointage/internal/strictjson"
	"pointage/internal/wire"
)

// DeviceAdmin is the device registry as the office administers it
// (docs/DESIGN.md §12, §14). The hub applies each change at once (the
// revoked device's MQTT session closed, an external mosquitto's files
// written again); warning says what of that failed, the change itself
// being saved.
type DeviceAdmin interface {
	List(ctx context.Context) ([]devices.Device, error)
	// Enrol registers a device with a generated password and issues its
	// enrolment code: devices.ErrExists, devices.ErrInvalidID.
	Enrol(ctx context.Context, site, device string) (c devices.Credentials, warning string, err error)
	// Renew gives a device a generated password and a new enrolment code:
	// devices.ErrNotFound.
	Renew(ctx context.Context, device string) (c devices.Credentials, warning string, err error)
	// Remove unregisters a device and returns it: devices.ErrNotFound.
	Remove(ctx context.Context, device string) (d devices.Device, warning string, err error)
}

// DeviceView is one device of GET /api/v1/devices: what ingest knows of
// it, and whether it is in the registry (an addition: a device registered
// but never heard of is listed, state "unknown"; a removed one that was
// heard of stays listed, registered false).
type DeviceView struct {
	ingest.DeviceView
	Registered   bool       `json:"registered"`
	RegisteredAt *time.Time `json:"registered_at,omitempty"`
	// VersionBehind (an addition): the agent runs another release than the
	// hub's, older or not comparable (VersionBehind).
	VersionBehind bool `json:"version_behind"`
	// HubConfigVersion (an addition) is the version of the reader list the
	// hub keeps for the device (0: none, its file's readers apply); the
	// agent runs it when its config_version equals it.
	HubConfigVersion int64 `json:"hub_config_version"`
}

// VersionBehind reports whether an agent of version agent should be
// updated to the hub's: never when either is unknown or they are equal;
// when both are semantic versions (v1.4.0, v1.4.0-3-gabc from git
// describe), when agent's is lower; otherwise (dev builds) when they
// differ.
func VersionBehind(agent, hub string) bool {
	if agent == "" || hub == "" || agent == hub {
		return false
	}
	av, an, aok := describeVersion(agent)
	hv, hn, hok := describeVersion(hub)
	if aok && hok {
		if c := semver.Compare(av, hv); c != 0 {
			return c < 0
		}
		return an < hn
	}
	return true
}

var describeRE = regexp.MustCompile(`^(v\d+\.\d+\.\d+)(?:-(\d+)-g[0-9a-f]+)?(?:-dirty)?$`)

// describeVersion reads `git describe --tags` output (v1.4.0, or
// v1.4.0-3-gabc1234: 3 commits after v1.4.0): the tag and the count.
func describeVersion(v string) (tag string, commits int, ok bool) {
	m := describeRE.FindStringSubmatch(v)
	if m == nil || !semver.IsValid(m[1]) {
		return "", 0, false
	}
	if m[2] != "" {
		commits, _ = strconv.Atoi(m[2])
	}
	return m[1], commits, true
}

// DeviceCredentials is the answer of POST /api/v1/devices and POST
// /api/v1/devices/{device}/password: the password and the enrolment code,
// shown this once.
type DeviceCredentials struct {
	Site                 string    `json:"site"`
	Device               string    `json:"device"`
	Password             string    `json:"password"`
	EnrolmentCode        string    `json:"enrolment_code"`
	EnrolmentCodeExpires time.Time `json:"enrolment_code_expires_at"`
	// Warning: the change is saved, but applying it failed in part (an
	// external mosquitto's files could not be written).
	Warning string `json:"warning,omitempty"`
	// EnrolCommand (an addition) is the command to run on the device, with
	// this hub's address as the browser reached it; EnrolQR the rows of its
	// QR code (1 a dark module), for the devices page to draw, so that the
	// installer's phone can carry it to the device.
	EnrolCommand string   `json:"enrol_command"`
	EnrolQR      []string `json:"enrol_qr"`
}

// registerDevices adds the devices' administration, office only:
//
//	POST   /api/v1/devices                    {"site","device"}  -> 201 credentials
//	DELETE /api/v1/devices/{device}                              -> 204
//	POST   /api/v1/devices/{device}/password  (no body, or {})   -> 200 credentials
func (a *API) registerDevices(mux *http.ServeMux) {
	if a.opts.Devices == nil {
		return
	}
	mux.Handle("POST /api/v1/devices", a.auth(a.addDevice, auth.RoleOffice))
	mux.Handle("DELETE /api/v1/devices/{device}", a.auth(a.removeDevice, auth.RoleOffice))
	mux.Handle("POST /api/v1/devices/{device}/password", a.auth(a.renewDevice, auth.RoleOffice))
}

// withRegistry adds the registered devices ingest has not heard of and
// marks which are registered, by site then device (pure).
func withRegistry(views []ingest.DeviceView, registered []devices.Device) []DeviceView {
	reg := make(map[string]devices.Device, len(registered))
	for _, d := range registered {
		reg[d.ID] = d
	}
	out := make([]DeviceView, 0, len(views)+len(registered))
	seen := make(map[string]bool, len(views))
	for _, v := range views {
		dv := DeviceView{DeviceView: v}
		if d, ok := reg[v.Device]; ok && d.Site == v.Site {
			t := d.CreatedAt
			dv.Registered, dv.RegisteredAt = true, &t
			seen[d.ID] = true
		}
		out = append(out, dv)
	}
	for _, d := range registered {
		if seen[d.ID] {
			continue
		}
		t := d.CreatedAt
		out = append(out, DeviceView{DeviceView: ingest.DeviceView{Site: d.Site, Device: d.ID, State: "unknown",
			Missing: []ingest.Range{}, Readers: []wire.ReaderStatus{}}, Registered: true, RegisteredAt: &t})
	}
	slices.SortStableFunc(out, func(x, y DeviceView) int {
		return strings.Compare(x.Site+"\x00"+x.Device, y.Site+"\x00"+y.Device)
	})
	return out
}

// idField checks a site or device id of a request: "" when it is one.
func idField(field, v string) string {
	switch {
	case v == "":
		return field + ": required (like " + map[string]string{"site": "jules-ferry", "device": "jf-cantine-1"}[field] + ")"
	case !wire.ValidSiteOrDevice(v):
		return fmt.Sprintf("%s: %q is not an id: 1 to 63 lowercase letters (no accent), digits and dashes, not starting with a dash", field, v)
	}
	return ""
}

func (a *API) addDevice(w http.ResponseWriter, r *http.Request, u User) {
	var in struct {
		Site   string `json:"site"`
		Device string `json:"device"`
	}
	if !readBody(w, r, &in) {
		return
	}
	for _, f := range [][2]string{{"site", in.Site}, {"device", in.Device}} {
		if msg := idField(f[0], f[1]); msg != "" {
			writeError(w, http.StatusBadRequest, msg)
			return
		}
	}
	c, warning, err := a.opts.Devices.Enrol(r.Context(), in.Site, in.Device)
	if err != nil {
		a.deviceError(w, r, err)
		return
	}
	a.record(r, u, audit.DeviceAdded, c.Device.ID, "site "+c.Device.Site+", password and enrolment code generated")
	writeJSON(w, http.StatusCreated, credentialsView(r, c, warning))
}

func (a *API) renewDevice(w http.ResponseWriter, r *http.Request, u User) {
	device := r.PathValue("device")
	if msg := idField("device", device); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if !readEmptyBody(w, r) {
		return
	}
	c, warning, err := a.opts.Devices.Renew(r.Context(), device)
	if err != nil {
		a.deviceError(w, r, err)
		return
	}
	a.record(r, u, audit.DevicePassword, c.Device.ID, "site "+c.Device.Site+", new password and enrolment code generated")
	writeJSON(w, http.StatusOK, credentialsView(r, c, warning))
}

func (a *API) removeDevice(w http.ResponseWriter, r *http.Request, u User) {
	device := r.PathValue("device")
	if msg := idField("device", device); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	d, warning, err := a.opts.Devices.Remove(r.Context(), device)
	if err != nil {
		a.deviceError(w, r, err)
		return
	}
	a.record(r, u, audit.DeviceRemoved, d.ID, "site "+d.Site)
	if warning != "" {
		writeJSON(w, http.StatusOK, map[string]string{"warning": warning})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// readEmptyBody accepts no body or an empty object {} (strictly, as
// readBody), and writes the error otherwise.
func readEmptyBody(w http.ResponseWriter, r *http.Request) bool {
	body, ok := readRaw(w, r)
	if !ok {
		return false
	}
	if len(body) == 0 {
		return true
	}
	var none struct{}
	if err := strictjson.Decode(body, &none, nil); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error()+" (send no body, or {})")
		return false
	}
	return true
}

func credentialsView(r *http.Request, c devices.Credentials, warning string) DeviceCredentials {
	v := DeviceCredentials{Site: c.Device.Site, Device: c.Device.ID, Password: c.Password,
		EnrolmentCode: c.Code, EnrolmentCodeExpires: c.CodeExpires, Warning: warning, EnrolQR: []string{}}
	if c.Code != "" {
		v.EnrolCommand = EnrolCommand(hubOrigin(r), c.Code)
		v.EnrolQR = qrRows(v.EnrolCommand)
	}
	return v
}

// EnrolCommand is the command an installer runs on a device.
func EnrolCommand(hub, code string) string {
	return "pointage-agent enrol --hub " + hub + " --code " + code
}

// hubOrigin is the hub's address as the request reached it.
func hubOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// qrRows is text's QR code (medium error correction, with its quiet
// zone) as rows of '1' (dark) and '0'; none when it cannot be made.
func qrRows(text string) []string {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return []string{}
	}
	bm := q.Bitmap()
	out := make([]string, len(bm))
	for i, row := range bm {
		b := make([]byte, len(row))
		for j, dark := range row {
			b[j] = '0'
			if dark {
				b[j] = '1'
			}
		}
		out[i] = string(b)
	}
	return out
}

// deviceError maps the registry's errors to statuses: 404 unknown, 409
// registered already, 400 invalid.
func (a *API) deviceError(w http.ResponseWriter, r *http.Request, err error) {
	a.fail(w, r, err, errStatus{devices.ErrNotFound, http.StatusNotFound},
		errStatus{devices.ErrExists, http.StatusConflict}, errStatus{devices.ErrInvalidID, http.StatusBadRequest})
}
