package spawn

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"
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
	// keep[0] is set by dropRanges itself, to a's own span (outside this
	// made-up heap).
	a.keep = [4][2]uintptr{{}, {150*K + 10, 150*K + 20}, {99 * K, 101*K + 1}, {300 * K, 301 * K}}
	a.dropRanges(120 * K) // stack kept: 116K..124K
	want := [8][2]uintptr{{102 * K, 116 * K}, {124 * K, 150 * K}, {151 * K, 200 * K}}
	if a.drop != want {
		t.Errorf("drop = %v, want %v", a.drop, want)
	}
}

// dropRanges keeps a's own span wherever a is, even when a caller's keep[0]
// says something else (a stack address taken before the stack moved).
func TestDropRangesKeepsArgs(t *testing.T) {
	a := &holdArgs{}
	lo := uintptr(unsafe.Pointer(a)) &^ 4095
	a.heap = [2]uintptr{lo - 64<<10, lo + 64<<10}
	a.keep[0] = [2]uintptr{1, 2}
	a.dropRanges(lo - 32<<10)
	for _, d := range a.drop {
		if d[0] < d[1] && d[0] <= uintptr(unsafe.Pointer(a)) && uintptr(unsafe.Pointer(a)) < d[1] {
			t.Fatalf("drop %x-%x holds a (%p)", d[0], d[1], a)
		}
	}
}

// heapMapping finds the anonymous rw mapping holding an address, also when
// the kernel names it (CONFIG_ANON_VMA_NAME: Go names its heap).
func TestHeapMapping(t *testing.T) {
	maps := `00400000-0065b000 r-xp 00000000 fe:00 10068561                           /usr/bin/urun
c000000000-c000400000 rw-p 00000000 00:00 0                              [anon: Go: heap]
7ffffb555000-7ffffb576000 rw-p 00000000 00:00 0                          [stack]
7fccf2c3b000-7fccf2c9b000 rw-p 00000000 00:00 0
`
	path := filepath.Join(t.TempDir(), "maps")
	if err := os.WriteFile(path, []byte(maps), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr uintptr
		want [2]uintptr
	}{
		{0xc000001000, [2]uintptr{0xc000000000, 0xc000400000}},
		{0x7fccf2c3c000, [2]uintptr{0x7fccf2c3b000, 0x7fccf2c9b000}},
		{0x7ffffb556000, [2]uintptr{}}, // the stack is not the heap
		{0x401000, [2]uintptr{}},       // the binary
	} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := heapMapping(f, tc.addr); got != tc.want {
			t.Errorf("heapMapping(%#x) = %#x, want %#x", tc.addr, got, tc.want)
		}
		f.Close()
	}
}
