package spawn

import (
	"testing"
)

func TestCloseRanges(t *testing.T) {
	got := closeRanges(7, -1, 4)
	want := [4][2]uintptr{{3, 3}, {5, 6}, {8, ^uintptr(0)}, {1, 0}}
	if got != want {
		t.Errorf("closeRanges(7, -1, 4) = %v, want %v", got, want)
	}
	// Adjacent keepers leave an empty range, which the child skips.
	if got := closeRanges(3, 4); got[0][0] <= got[0][1] || got[1][0] <= got[1][1] || got[2] != [2]uintptr{5, ^uintptr(0)} {
		t.Errorf("closeRanges(3, 4) = %v", got)
	}
}

func TestDropRanges(t *testing.T) {
	const K = 4096
	a := &holdArgs{heap: [2]uintptr{100 * K, 200 * K}}
	a.keep = [4][2]uintptr{{150*K + 10, 150*K + 20}, {}, {99 * K, 101*K + 1}, {300 * K, 301 * K}}
	a.dropRanges(120 * K) // stack kept: 116K..124K
	want := [8][2]uintptr{{102 * K, 116 * K}, {124 * K, 150 * K}, {151 * K, 200 * K}}
	if a.drop != want {
		t.Errorf("drop = %v, want %v", a.drop, want)
	}
}
