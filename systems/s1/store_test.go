package s1

import (
	"slices"
	"sync/atomic"
	"testing"
)

// store and storeAll keep byName, names and sorted in step, sorted by
// name, whatever order the units come in, and never change a snapshot
// already published (lookups hold it without a lock).
func TestStoreKeepsSnapshotsSorted(t *testing.T) {
	var p atomic.Pointer[units[int]]
	p.Store(&units[int]{})
	check := func(want map[string]int) {
		t.Helper()
		u := p.Load()
		names := slices.Sorted(func(yield func(string) bool) {
			for k := range want {
				if !yield(k) {
					return
				}
			}
		})
		if !slices.Equal(u.names, names) || len(u.byName) != len(want) || len(u.sorted) != len(want) {
			t.Fatalf("names %v (%d by name, %d sorted), want %v", u.names, len(u.byName), len(u.sorted), names)
		}
		for i, n := range names {
			if u.byName[n] != want[n] || u.sorted[i] != want[n] {
				t.Fatalf("%s: by name %d, sorted[%d] %d, want %d", n, u.byName[n], i, u.sorted[i], want[n])
			}
		}
	}
	store(&p, "m", 1)
	store(&p, "c", 2)
	store(&p, "x", 3)
	first := p.Load()
	store(&p, "c", 4) // replaced in place, in a new snapshot
	check(map[string]int{"m": 1, "c": 4, "x": 3})
	if first.byName["c"] != 2 || first.sorted[0] != 2 || len(first.names) != 3 {
		t.Fatalf("a published snapshot changed: %+v", first)
	}
	second := p.Load()
	storeAll(&p, []string{"z", "a", "m", "d"}, []int{5, 6, 7, 8})
	check(map[string]int{"a": 6, "c": 4, "d": 8, "m": 7, "x": 3, "z": 5})
	if !slices.Equal(second.names, []string{"c", "m", "x"}) || second.sorted[1] != 1 {
		t.Fatalf("a published snapshot changed: %+v", second)
	}
	storeAll(&p, nil, nil)
	check(map[string]int{"a": 6, "c": 4, "d": 8, "m": 7, "x": 3, "z": 5})
}
