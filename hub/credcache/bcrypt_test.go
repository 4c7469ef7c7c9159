package credcache

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestBcrypt(t *testing.T) {
	b := &Bcrypt{Cost: bcrypt.MinCost}
	h, err := b.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !b.Compare(h, "correct horse") || b.Compare(h, "wrong horse") || b.Compare(nil, "correct horse") {
		t.Fatal("Compare gave a wrong answer")
	}
	if b.Checks() != 3 {
		t.Fatalf("%d comparisons counted, want 3 (the unknown id pays one too)", b.Checks())
	}
}

func TestPasswordProblem(t *testing.T) {
	for p, want := range map[string]string{
		"correct horse":          "",
		"é1234567":               "",
		"short":                  "at least 8",
		strings.Repeat("x", 73):  "at most 72",
		"line\nbreak!":           "line break",
		"nul\x00character":       "NUL",
		"bad utf8 \xff\xfe here": "UTF-8",
	} {
		if got := PasswordProblem(p); (want == "" && got != "") || !strings.Contains(got, want) {
			t.Errorf("PasswordProblem(%q) = %q, want %q", p, got, want)
		}
	}
}
