package main

import (
	"regexp"
	"strings"
	"time"
)

var (
	// git describe of a tagged tree: v1.2.3, v1.2.3-rc1, v1.2.3-4-gabc1234, 1.2.3-rc1-4-gabc1234.
	describeRe = regexp.MustCompile(`^v?([0-9]+(?:\.[0-9]+)*)(?:-([0-9A-Za-z.-]+?))??(?:-([0-9]+)-g([0-9a-f]+))?$`)
	// git describe --always without a tag: an abbreviated commit hash.
	hashRe = regexp.MustCompile(`^[0-9a-f]{7,40}$`)
	// What DebianVersion returns: an upstream version without epoch or revision.
	debianRe = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)
	unsafeRe = regexp.MustCompile(`[^A-Za-z0-9.+~]+`)
)

// DebianVersion turns what `git describe --tags --always --dirty` prints into a version
// dpkg accepts and orders the same way:
//
//	v1.2.3                 -> 1.2.3
//	v1.2.3-rc1             -> 1.2.3~rc1                 (before 1.2.3)
//	v1.2.3-4-gabc1234      -> 1.2.3+git4.abc1234        (after 1.2.3, before 1.2.4)
//	v1.2.3-4-gabc1234-dirty-> 1.2.3+git4.abc1234.dirty
//	abc1234 (no tag yet)   -> 0.0.0~git20261203.abc1234 (the commit's date, UTC)
//	dev, or anything else  -> 0.0.0~dev.20261203
//
// at is the date of an untagged build (the commit's time).
func DebianVersion(describe string, at time.Time) string {
	s := strings.TrimSpace(describe)
	dirty := false
	if rest, ok := strings.CutSuffix(s, "-dirty"); ok {
		s, dirty = rest, true
	}
	date := at.UTC().Format("20060102")
	var v string
	switch m := describeRe.FindStringSubmatch(s); {
	case hashRe.MatchString(s) && !strings.Contains(s, "."):
		v = "0.0.0~git" + date + "." + s
	case m != nil:
		v = m[1]
		if m[2] != "" {
			v += "~" + clean(m[2])
		}
		if m[3] != "" {
			v += "+git" + m[3] + "." + m[4]
		}
	default:
		name := clean(s)
		if name == "" {
			name = "dev"
		}
		v = "0.0.0~" + name + "." + date
	}
	if dirty {
		if strings.Contains(v, "+") || strings.Contains(v, "~git") {
			v += ".dirty"
		} else {
			v += "+dirty"
		}
	}
	return v
}

// clean keeps the characters a Debian version may hold, each run of others becoming
// one '.', with none at either end.
func clean(s string) string {
	return strings.Trim(unsafeRe.ReplaceAllString(s, "."), ".+~")
}

// validDebianVersion reports whether v is what DebianVersion promises: starts with a
// digit, then letters, digits, '.', '+' and '~' only.
func validDebianVersion(v string) bool { return debianRe.MatchString(v) }
