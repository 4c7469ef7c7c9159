package roster

import (
	"slices"
	"testing"
)

func TestCompareClassesSchoolOrder(t *testing.T) {
	got := []string{"CM2", "", "CE1", "Ulis", "CP B", "GS", "CP A", "ce2", "MS", "CM1-CM2", "PS", "TPS", "CE1/CE2"}
	slices.SortStableFunc(got, CompareClasses)
	want := []string{"TPS", "PS", "MS", "GS", "CP A", "CP B", "CE1", "CE1/CE2", "ce2", "CM1-CM2", "CM2", "Ulis", ""}
	if !slices.Equal(got, want) {
		t.Errorf("school order:\n got %q\nwant %q", got, want)
	}
}
