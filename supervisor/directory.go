package supervisor

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Directory is the registry of every supervised actor of a node by stable
// name. Supervisors are its only writers; anyone may read it concurrently.
type Directory struct {
	mu      sync.RWMutex
	entries map[string]*dirEntry
	seq     uint64
}

type dirEntry struct {
	pid       *actor.PID
	kind      string
	parent    string
	hasParent bool // false for a supervisor not spawned by one of ours
	restarts  int
	seq       uint64     // start order
	intensity *Intensity // set by a supervisor of ours for itself
}

// Intensity is a supervisor's restart policy as the tree shows it: at most
// MaxRestarts restarts of its children within Window (each child counted
// on its own when PerChild), restarting by Strategy.
type Intensity struct {
	Strategy    Strategy      `json:"strategy"`
	MaxRestarts int           `json:"max_restarts"` // negative: never restart
	Window      time.Duration `json:"window_ns"`
	PerChild    bool          `json:"per_child,omitempty"`
}

// TreeNode is one actor in a snapshot of the supervision tree.
type TreeNode struct {
	Name     string `json:"name"`
	PID      string `json:"pid"`
	Kind     string `json:"kind"`
	Restarts int    `json:"restarts"`
	// Intensity is set on the supervisors of this package: the budget
	// their children's Restarts count against.
	Intensity *Intensity `json:"intensity,omitempty"`
	Children  []TreeNode `json:"children"` // in start order
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory { return &Directory{entries: make(map[string]*dirEntry)} }

// Lookup returns the PID registered under a stable name.
func (d *Directory) Lookup(name string) (*actor.PID, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e, ok := d.entries[name]
	if !ok {
		return nil, false
	}
	return e.pid, true
}

// Names returns every registered stable name, sorted.
func (d *Directory) Names() []string {
	d.mu.RLock()
	names := make([]string, 0, len(d.entries))
	for n := range d.entries {
		names = append(names, n)
	}
	d.mu.RUnlock()
	sort.Strings(names)
	return names
}

// Tree returns a snapshot of the tree from the root supervisor (stable name
// ""). Without a registered root the top node is synthetic (empty PID) and
// holds every supervisor spawned outside the tree.
func (d *Directory) Tree() TreeNode {
	d.mu.RLock()
	defer d.mu.RUnlock()
	kids := make(map[string][]string)
	for name, e := range d.entries {
		if name == "" {
			continue
		}
		parent := ""
		if e.hasParent {
			parent = e.parent
		}
		kids[parent] = append(kids[parent], name)
	}
	for _, names := range kids {
		slices.SortFunc(names, func(a, b string) int {
			sa, sb := d.entries[a].seq, d.entries[b].seq
			switch {
			case sa < sb:
				return -1
			case sa > sb:
				return 1
			}
			return 0
		})
	}
	var build func(name string) TreeNode
	build = func(name string) TreeNode {
		n := TreeNode{Name: name, Children: []TreeNode{}}
		if e, ok := d.entries[name]; ok {
			n.PID, n.Kind, n.Restarts = PIDString(e.pid), e.kind, e.restarts
			if e.intensity != nil {
				in := *e.intensity
				n.Intensity = &in
			}
		}
		for _, k := range kids[name] {
			n.Children = append(n.Children, build(k))
		}
		return n
	}
	return build("")
}

// register records a child spawned by the supervisor parent. seq is its
// start order; 0 takes the next one. A child spawned again after a restart
// passes its first seq and keeps its place in Tree. It returns the seq.
func (d *Directory) register(name string, pid *actor.PID, kind, parent string, seq uint64, restarts int) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if seq == 0 {
		d.seq++
		seq = d.seq
	}
	var in *Intensity
	if e, ok := d.entries[name]; ok && e.pid.Equal(pid) {
		in = e.intensity // registerSelf ran first
	}
	d.entries[name] = &dirEntry{pid: pid, kind: kind, parent: parent, hasParent: true, seq: seq, restarts: restarts, intensity: in}
	return seq
}

// registerSelf records a supervisor under its own path unless its parent
// already did (the two race; the parent's entry wins either way).
// Either way the entry gets the supervisor's intensity, which only the
// supervisor knows.
func (d *Directory) registerSelf(name string, pid *actor.PID, in Intensity) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.entries[name]; ok && e.pid.Equal(pid) {
		e.intensity = &in
		return
	}
	d.seq++
	d.entries[name] = &dirEntry{pid: pid, kind: KindSupervisor, seq: d.seq, intensity: &in}
}

// unregister removes name only while it still maps to pid, so a late
// removal never deletes a newer registration.
func (d *Directory) unregister(name string, pid *actor.PID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.entries[name]; ok && e.pid.Equal(pid) {
		delete(d.entries, name)
	}
}

func (d *Directory) setRestarts(name string, pid *actor.PID, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.entries[name]; ok && e.pid.Equal(pid) {
		e.restarts = n
	}
}

// PIDString formats a PID as "address/id", the form used in events and
// tree snapshots.
func PIDString(pid *actor.PID) string {
	if pid == nil {
		return ""
	}
	return pid.Address + "/" + pid.Id
}
