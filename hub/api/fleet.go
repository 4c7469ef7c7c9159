package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	firmwareconfig "pointage/firmware-config"
	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/devices"
	"pointage/internal/wire"
)

// Fleet is the hub's side of enrolment and remote reader configuration
// (docs/DESIGN.md §14).
type Fleet interface {
	// Config is the device's reader list (ok false: the hub has none, the
	// agent's file applies): devices.ErrNotFound for an unknown device.
	Config(ctx context.Context, device string) (c devices.Config, ok bool, err error)
	// SetConfig stores a checked reader list and sends it to the device.
	SetConfig(ctx context.Context, device string, readers []wire.ReaderConfig, by string) (devices.Config, error)
	// Enrol redeems an enrolment code: the device, a new password, its
	// reader list; devices.ErrCodeUnknown, ErrCodeUsed, ErrCodeExpired.
	Enrol(ctx context.Context, code string) (Enrolled, error)
	// Versions are the reader lists' versions, by device.
	Versions() map[string]int64
}

// Enrolled is what POST /api/v1/enrol gives the agent (the MQTT URL is the
// API's to add).
type Enrolled struct {
	Site          string              `json:"site"`
	Device        string              `json:"device"`
	Password      string              `json:"password"`
	MQTTURL       string              `json:"mqtt_url"`
	TopicRoot     string              `json:"topic_root"`
	Readers       []wire.ReaderConfig `json:"readers"`
	ConfigVersion int64               `json:"config_version"`
}

// DeviceConfigView is GET and PUT /api/v1/devices/{device}/config.
type DeviceConfigView struct {
	Device string `json:"device"`
	// Source is "hub" when the hub has a reader list for the device (it
	// replaces the agent's file), "file" when it has none.
	Source    string              `json:"source"`
	Version   int64               `json:"version,omitempty"`
	Readers   []wire.ReaderConfig `json:"readers"`
	UpdatedAt *time.Time          `json:"updated_at,omitempty"`
	UpdatedBy string              `json:"updated_by,omitempty"`
	// Profiles are what the list may name: the built-in profiles and those
	// the agent reported.
	Profiles []string `json:"profiles"`
}

// enrolLimit bounds failed enrolments per address: codes have 59 bits, so
// this stops nobody guessing, it keeps the audit log readable.
var enrolLimit = auth.LoginLimit{PerUser: -1, PerIP: 20, Window: time.Minute}

func (a *API) registerFleet(mux *http.ServeMux) {
	if a.opts.Fleet == nil {
		return
	}
	mux.Handle("GET /api/v1/devices/{device}/config", a.auth(a.deviceConfig, auth.RoleOffice))
	mux.Handle("PUT /api/v1/devices/{device}/config", a.auth(a.setDeviceConfig, auth.RoleOffice))
	mux.HandleFunc("POST /api/v1/enrol", a.enrol) // no user: the code is the credential
}

// builtinProfiles are the profiles every agent has (firmware-config).
func builtinProfiles() []string {
	names, _ := fs.Glob(firmwareconfig.Profiles, "profiles/*.yaml")
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, strings.TrimSuffix(path.Base(n), ".yaml"))
	}
	return out
}

// deviceProfiles is what a device's reader list may name: the built-in
// profiles and those its agent reported (its profiles_dir's).
func (a *API) deviceProfiles(ctx context.Context, device string) []string {
	out := builtinProfiles()
	if views, err := a.opts.Ingest.DeviceViews(ctx); err == nil {
		for _, v := range views {
			if v.Device == device {
				out = append(out, v.Profiles...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func configView(device string, c devices.Config, ok bool, profiles []string) DeviceConfigView {
	v := DeviceConfigView{Device: device, Source: "file", Readers: []wire.ReaderConfig{}, Profiles: profiles}
	if ok {
		t := c.UpdatedAt
		v.Source, v.Version, v.Readers, v.UpdatedAt, v.UpdatedBy = "hub", c.Version, c.Readers, &t, c.UpdatedBy
	}
	return v
}

func (a *API) deviceConfig(w http.ResponseWriter, r *http.Request, _ User) {
	device := r.PathValue("device")
	if msg := idField("device", device); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	c, ok, err := a.opts.Fleet.Config(r.Context(), device)
	if err != nil {
		a.deviceError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, configView(device, c, ok, a.deviceProfiles(r.Context(), device)))
}

func (a *API) setDeviceConfig(w http.ResponseWriter, r *http.Request, u User) {
	device := r.PathValue("device")
	if msg := idField("device", device); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	var in struct {
		Readers *[]wire.ReaderConfig `json:"readers"`
	}
	if !readBody(w, r, &in) {
		return
	}
	if in.Readers == nil {
		writeError(w, http.StatusBadRequest, "readers: required (a list, possibly empty)")
		return
	}
	known := a.deviceProfiles(r.Context(), device)
	if err := wire.ValidateReaders(*in.Readers, func(p string) bool { return slices.Contains(known, p) }); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	c, err := a.opts.Fleet.SetConfig(r.Context(), device, *in.Readers, u.Name)
	if err != nil {
		a.deviceError(w, r, err)
		return
	}
	names := make([]string, 0, len(c.Readers))
	for _, rc := range c.Readers {
		names = append(names, fmt.Sprintf("%s (%s, %s)", rc.Name, rc.Port, rc.Service))
	}
	a.record(r, u, audit.DeviceConfig, device, fmt.Sprintf("version %d: %s", c.Version, cmpOr(strings.Join(names, ", "), "no reader")))
	writeJSON(w, http.StatusOK, configView(device, c, true, known))
}

// enrol is POST /api/v1/enrol {"code"}: no user, rate-limited per
// address, audited either way.
func (a *API) enrol(w http.ResponseWriter, r *http.Request) {
	ip := audit.Addr(r.RemoteAddr)
	now := time.Now()
	if !a.enrolLimiter.Allowed(ip, "", now) {
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, "too many enrolment attempts from this address: wait a minute, then check the code")
		return
	}
	var in struct {
		Code string `json:"code"`
	}
	if !readBody(w, r, &in) {
		return
	}
	refuse := func(msg string) {
		a.enrolLimiter.Fail(ip, "", now)
		a.record(r, User{Name: "-"}, audit.DeviceEnrolRefused, "", msg)
		writeError(w, http.StatusUnauthorized, msg)
	}
	if strings.TrimSpace(in.Code) == "" {
		refuse("code: required (the enrolment code the devices page or `devices add` gave, like ABCD-EFGH-JKMN)")
		return
	}
	e, err := a.opts.Fleet.Enrol(r.Context(), in.Code)
	switch {
	case errors.Is(err, devices.ErrCodeUsed):
		refuse("this enrolment code was already used: give the device a new one (devices page, « Nouveau mot de passe »)")
		return
	case errors.Is(err, devices.ErrCodeExpired):
		refuse("this enrolment code has expired (codes are valid 7 days): give the device a new one (devices page, « Nouveau mot de passe »)")
		return
	case errors.Is(err, devices.ErrCodeUnknown):
		refuse("unknown enrolment code: check it (letters and digits, like ABCD-EFGH-JKMN), or give the device a new one")
		return
	case err != nil:
		a.log.Error("enrolment failed", "err", err)
		writeError(w, http.StatusInternalServerError, "the hub could not enrol the device: see its log")
		return
	}
	e.MQTTURL = a.mqttURLFor(r)
	if e.Readers == nil {
		e.Readers = []wire.ReaderConfig{}
	}
	a.record(r, User{Name: "-"}, audit.DeviceEnrolled, e.Device, "site "+e.Site+", new password given to the agent")
	writeJSON(w, http.StatusOK, e)
}

// mqttURLFor is the MQTT URL an enrolling agent is given: --public-mqtt-url,
// else the embedded broker's port on the host the agent reached the API by.
func (a *API) mqttURLFor(r *http.Request) string {
	if a.opts.PublicMQTTURL != "" {
		return a.opts.PublicMQTTURL
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	scheme, port := "tcp", a.opts.MQTTPort
	if a.opts.MQTTTLSPort != "" {
		scheme, port = "ssl", a.opts.MQTTTLSPort
	}
	if port == "" {
		port = "1883"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
