package calendar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"pointage/internal/civil"
	"pointage/internal/wire"
)

// ErrInvalid wraps every error about the content of a calendar file.
var ErrInvalid = errors.New("invalid calendar")

// Closure is one entry of the file: the site(s) are closed every day from
// From to To, both included.
type Closure struct {
	From, To civil.Date
	// Sites lists the sites concerned; empty means every site (city-wide).
	Sites  []string
	Reason string
	// Line is the entry's line in the file (0 when built by hand).
	Line int
}

// Applies reports whether the closure covers site on day.
func (c Closure) Applies(site string, day civil.Date) bool {
	if day.Before(c.From) || day.After(c.To) {
		return false
	}
	return len(c.Sites) == 0 || slices.Contains(c.Sites, site)
}

// Calendar is a parsed calendar file. The zero value and nil close nothing.
type Calendar struct {
	timezone string
	closures []Closure
}

// maxSpan bounds one entry: a closure longer than this is a typo in a year.
const maxSpan = 366

// maxReason bounds a reason (runes, on one line).
const maxReason = 200

// Parse reads a calendar file's content.
func Parse(data []byte) (*Calendar, error) {
	var f struct {
		Timezone string    `yaml:"timezone"`
		Closed   []closure `yaml:"closed"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	c := &Calendar{timezone: strings.TrimSpace(f.Timezone)}
	if c.timezone != "" {
		if _, err := time.LoadLocation(c.timezone); err != nil || c.timezone == "Local" {
			return nil, fmt.Errorf("%w: timezone %q is not an IANA time zone (e.g. Pacific/Noumea)", ErrInvalid, f.Timezone)
		}
	}
	var errs []error
	for i, e := range f.Closed {
		cl, err := e.check()
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: closed entry %d (line %d): %s", ErrInvalid, i+1, e.line, err))
			continue
		}
		c.closures = append(c.closures, cl)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Load reads and parses the calendar file at path.
func Load(path string) (*Calendar, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read calendar: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("calendar %s: %w", path, err)
	}
	return c, nil
}

// Closed reports whether site is closed on day, with the reason of the
// first entry of the file that closes it.
func (c *Calendar) Closed(site string, day civil.Date) (bool, string) {
	if c == nil {
		return false, ""
	}
	for _, cl := range c.closures {
		if cl.Applies(site, day) {
			return true, cl.Reason
		}
	}
	return false, ""
}

// Timezone returns the file's timezone, "" when it gives none (the hub's
// own timezone applies).
func (c *Calendar) Timezone() string {
	if c == nil {
		return ""
	}
	return c.timezone
}

// Closures returns a copy of the file's entries, in file order.
func (c *Calendar) Closures() []Closure {
	if c == nil {
		return nil
	}
	out := make([]Closure, len(c.closures))
	for i, cl := range c.closures {
		cl.Sites = slices.Clone(cl.Sites)
		out[i] = cl
	}
	return out
}

// closure is an entry as written in the file.
type closure struct {
	Date   string   `yaml:"date"`
	From   string   `yaml:"from"`
	To     string   `yaml:"to"`
	Sites  []string `yaml:"sites"`
	Reason string   `yaml:"reason"`
	line   int
}

var closureKeys = []string{"date", "from", "to", "sites", "reason"}

// UnmarshalYAML records the entry's line and refuses unknown keys (a
// misspelt "sites" would otherwise close every site).
func (e *closure) UnmarshalYAML(n *yaml.Node) error {
	e.line = n.Line
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a closed entry is a mapping such as {date: 2026-11-11, reason: Armistice}", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains(closureKeys, k) {
			return fmt.Errorf("line %d: unknown field %q in a closed entry (want date, or from and to; sites; reason)", n.Content[i].Line, k)
		}
	}
	type plain closure
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	p.line = n.Line
	*e = closure(p)
	return nil
}

func (e closure) check() (Closure, error) {
	cl := Closure{Reason: strings.TrimSpace(e.Reason), Line: e.line}
	day := func(field, s string) (civil.Date, error) {
		d, err := civil.ParseDate(strings.TrimSpace(s))
		if err != nil || !d.Valid() {
			return civil.Date{}, fmt.Errorf("%s %q is not a day (want YYYY-MM-DD)", field, s)
		}
		return d, nil
	}
	var err error
	switch {
	case e.Date != "" && (e.From != "" || e.To != ""):
		return cl, errors.New("date: give either date, or from and to, not both")
	case e.Date != "":
		if cl.From, err = day("date", e.Date); err != nil {
			return cl, err
		}
		cl.To = cl.From
	case e.From == "" && e.To == "":
		return cl, errors.New("date: missing (give date, or from and to)")
	case e.From == "":
		return cl, errors.New("from: missing (a range needs from and to)")
	case e.To == "":
		return cl, errors.New("to: missing (a range needs from and to)")
	default:
		if cl.From, err = day("from", e.From); err != nil {
			return cl, err
		}
		if cl.To, err = day("to", e.To); err != nil {
			return cl, err
		}
		if cl.To.Before(cl.From) {
			return cl, fmt.Errorf("to: %s is before from %s", cl.To, cl.From)
		}
		if cl.From.AddDays(maxSpan).Before(cl.To) {
			return cl, fmt.Errorf("to: %s to %s is more than a year; is the year right?", cl.From, cl.To)
		}
	}
	for _, s := range e.Sites {
		if !wire.ValidSiteOrDevice(s) {
			return cl, fmt.Errorf("sites: %q is not a site id (lowercase letters, digits and dashes)", s)
		}
		if !slices.Contains(cl.Sites, s) {
			cl.Sites = append(cl.Sites, s)
		}
	}
	if e.Sites != nil && len(e.Sites) == 0 {
		return cl, errors.New("sites: empty list (leave sites out to close every site)")
	}
	if utf8.RuneCountInString(cl.Reason) > maxReason || strings.IndexFunc(cl.Reason, unicode.IsControl) >= 0 {
		return cl, fmt.Errorf("reason: at most %d characters on one line", maxReason)
	}
	return cl, nil
}
