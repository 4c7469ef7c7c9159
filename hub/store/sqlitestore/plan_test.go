package sqlitestore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"pointage/hub/store"
)

// Every read, and the retention's delete, goes through the one index:
// a day of one site or of every site never scans the table.
func TestQueryPlans(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "checkins.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	badges, badgeArgs := badgeQuery(store.Query{BadgeSuffixes: []string{"ABCDEF", "0A00ABCDE0"}}, 1, 2)
	siteBadges, siteBadgeArgs := badgeQuery(store.Query{Site: "jules-ferry", BadgeSuffixes: []string{"ABCDEF"}}, 1, 2)
	cases := []struct {
		name  string
		query string
		args  []any
	}{
		{"day of every site", selectSQL, []any{1, 2}},
		{"day of one site", selectSiteSQL, []any{"jules-ferry", 1, 2}},
		{"badges", badges, badgeArgs},
		{"badges of one site", siteBadges, siteBadgeArgs},
		{"oldest", oldestSQL, nil},
		{"purge", purgeSQL, []any{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := s.db.Query("EXPLAIN QUERY PLAN "+c.query, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(plan, "; ")
			t.Log(all)
			if !strings.Contains(all, "SEARCH checkins USING ") || !strings.Contains(all, "INDEX checkins_at_site") ||
				strings.Contains(all, "SCAN checkins") {
				t.Errorf("plan %q: want a search of index checkins_at_site", all)
			}
		})
	}
}

func TestChunkSize(t *testing.T) {
	cases := []struct {
		name string
		n    int
		want []int
	}{
		{"one", 1, []int{1}},
		{"power of two", 64, []int{64}},
		{"hub batch", 1000, []int{512, 256, 128, 64, 32, 8}},
		{"above the largest", 2500, []int{1024, 1024, 256, 128, 64, 4}},
		{"odd", 7, []int{4, 2, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []int
			for left := c.n; left > 0; {
				size := chunkSize(left)
				got = append(got, size)
				left -= size
			}
			if !slicesEqual(got, c.want) {
				t.Errorf("chunks of %d: %v, want %v", c.n, got, c.want)
			}
		})
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
