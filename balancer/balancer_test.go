package balancer

import (
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// clock is a settable fake clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return t0.Add(time.Duration(c.ns.Load())) }
func (c *clock) set(d time.Duration)     { c.ns.Store(int64(d)) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// recorder collects listener notifications.
type recorder struct {
	mu    sync.Mutex
	notes []Notification
}

func (r *recorder) listen(n Notification) {
	r.mu.Lock()
	r.notes = append(r.notes, n)
	r.mu.Unlock()
}

func (r *recorder) take() []Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.notes
	r.notes = nil
	return out
}

func newTest(t *testing.T, addrs []string, cfg Config) (*Balancer, *clock, *recorder) {
	t.Helper()
	c := &clock{}
	r := &recorder{}
	cfg.Now = c.now
	cfg.Listener = r.listen
	b, err := New(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b, c, r
}

func pick(t *testing.T, b *Balancer) *Endpoint {
	t.Helper()
	e, err := b.Pick()
	if err != nil {
		t.Fatalf("Pick: %v", err)
	}
	return e
}

// picks returns the addresses of n picks, each finished successfully.
func picks(t *testing.T, b *Balancer, n int) []string {
	t.Helper()
	var out []string
	for range n {
		e := pick(t, b)
		out = append(out, e.Addr)
		e.Done(nil)
	}
	return out
}

// fail reports n failed outcomes against e.
func fail(e *Endpoint, n int) {
	for range n {
		e.Report(false)
	}
}

func endpoint(t *testing.T, b *Balancer, addr string) *Endpoint {
	t.Helper()
	for _, e := range b.snap.Load().all {
		if e.Addr == addr {
			return e
		}
	}
	t.Fatalf("no endpoint %s", addr)
	return nil
}

const (
	a  = "10.0.0.1:80"
	bb = "10.0.0.2:80"
	c  = "10.0.0.3:80"
	d  = "10.0.0.4:80"
)

func TestRoundRobinOrder(t *testing.T) {
	b, _, _ := newTest(t, []string{a, bb, c}, Config{})
	got := picks(t, b, 7)
	want := []string{a, bb, c, a, bb, c, a}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestP2CPrefersFewerInFlight(t *testing.T) {
	// Scripted rand: each Pick draws i from [0,n) then j from [0,n-1).
	var script = []int{0, 0, 1, 1, 2, 0, 0, 1}
	var k atomic.Int64
	r := func(n int) int {
		v := script[int(k.Add(1)-1)%len(script)]
		if v >= n {
			panic("rand out of range")
		}
		return v
	}
	b, _, _ := newTest(t, []string{a, bb, c}, Config{Policy: P2C, Rand: r})
	busy := endpoint(t, b, a)
	busy.inflight.Add(3) // a has 3 requests in flight
	// Draw 1: i=0 (a), j=0 → skips i → 1 (bb): bb has fewer.
	if e := pick(t, b); e.Addr != bb {
		t.Fatalf("pick 1 = %s, want %s", e.Addr, bb)
	} else if e.InFlight() != 1 {
		t.Fatalf("in flight %d", e.InFlight())
	}
	// Draw 2: i=1 (bb, 1 in flight), j=1 → 2 (c, 0): c.
	if e := pick(t, b); e.Addr != c {
		t.Fatalf("pick 2 = %s, want %s", e.Addr, c)
	}
	// Draw 3: i=2 (c, 1), j=0 (a, 3): c keeps it.
	if e := pick(t, b); e.Addr != c {
		t.Fatalf("pick 3 = %s, want %s", e.Addr, c)
	}
	// Draw 4: i=0 (a, 3), j=1 → 2 (c, 2): c.
	if e := pick(t, b); e.Addr != c {
		t.Fatalf("pick 4 = %s, want %s", e.Addr, c)
	}
	// A tie keeps the first draw: i=0 (a), j=0→1 (bb) with a at 1, bb at 1.
	busy.inflight.Store(1)
	if e := pick(t, b); e.Addr != a {
		t.Fatalf("tie pick = %s, want %s", e.Addr, a)
	}
}

func TestEjectionAfterConsecutiveFailures(t *testing.T) {
	b, _, rec := newTest(t, []string{a, bb, c}, Config{ConsecutiveFailures: 3, BaseEjectionTime: 10 * time.Second})
	ea := endpoint(t, b, a)
	fail(ea, 2)
	if n := rec.take(); len(n) != 0 {
		t.Fatalf("ejected early: %v", n)
	}
	ea.Report(false)
	want := []Notification{{Kind: Ejected, Addr: a, For: 10 * time.Second, Ejections: 1, At: t0}}
	if got := rec.take(); !reflect.DeepEqual(got, want) {
		t.Fatalf("notes %+v, want %+v", got, want)
	}
	for _, addr := range picks(t, b, 6) {
		if addr == a {
			t.Fatal("ejected endpoint picked")
		}
	}
	if until, ok := b.Next(); !ok || !until.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("Next = %v %v", until, ok)
	}
	st := b.Endpoints()[0]
	if !st.Ejected || st.Ejections != 1 || st.Failures != 3 || !st.EjectedUntil.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("stats %+v", st)
	}
	// More failures of in-flight requests while ejected change nothing.
	fail(ea, 5)
	if n := rec.take(); len(n) != 0 {
		t.Fatalf("re-ejected while ejected: %v", n)
	}
}

func TestSuccessResetsConsecutiveCount(t *testing.T) {
	b, _, rec := newTest(t, []string{a, bb}, Config{ConsecutiveFailures: 3})
	ea := endpoint(t, b, a)
	for range 5 {
		fail(ea, 2)
		ea.Report(true)
	}
	if n := rec.take(); len(n) != 0 {
		t.Fatalf("ejected despite successes: %v", n)
	}
	if st := b.Endpoints()[0]; st.ConsecutiveFailures != 0 || st.Failures != 10 {
		t.Fatalf("stats %+v", st)
	}
	fail(ea, 3)
	if n := rec.take(); len(n) != 1 || n[0].Kind != Ejected {
		t.Fatalf("notes %v", n)
	}
}

func TestReturnAfterEjectionTime(t *testing.T) {
	b, clk, rec := newTest(t, []string{a, bb}, Config{ConsecutiveFailures: 1, BaseEjectionTime: 10 * time.Second})
	fail(endpoint(t, b, a), 1)
	rec.take()
	clk.set(10*time.Second - 1)
	if got := picks(t, b, 2); !reflect.DeepEqual(got, []string{bb, bb}) {
		t.Fatalf("picks before the end %v", got)
	}
	if n := rec.take(); len(n) != 0 {
		t.Fatalf("restored early: %v", n)
	}
	clk.set(10 * time.Second)
	// The next Pick sees the end and restores a lazily.
	got := picks(t, b, 4)
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	if seen[a] != 2 || seen[bb] != 2 {
		t.Fatalf("picks after the end %v", got)
	}
	want := []Notification{{Kind: Restored, Addr: a, At: t0.Add(10 * time.Second)}}
	if n := rec.take(); !reflect.DeepEqual(n, want) {
		t.Fatalf("notes %+v, want %+v", n, want)
	}
	if _, ok := b.Next(); ok {
		t.Fatal("Next reports an ejection after restore")
	}
	if st := b.Endpoints()[0]; st.Ejected || st.ConsecutiveFailures != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTickRestoresWithoutTraffic(t *testing.T) {
	b, clk, rec := newTest(t, []string{a, bb}, Config{ConsecutiveFailures: 1, BaseEjectionTime: time.Second})
	fail(endpoint(t, b, a), 1)
	rec.take()
	until, _ := b.Next()
	b.Tick(until.Add(-1))
	if n := rec.take(); len(n) != 0 {
		t.Fatalf("Tick before the end restored: %v", n)
	}
	clk.set(time.Second)
	b.Tick(until)
	if n := rec.take(); len(n) != 1 || n[0].Kind != Restored || n[0].Addr != a {
		t.Fatalf("notes %v", n)
	}
}

func TestEjectionTimeGrowsAndDecays(t *testing.T) {
	base := 10 * time.Second
	b, clk, rec := newTest(t, []string{a, bb, c}, Config{ConsecutiveFailures: 2, BaseEjectionTime: base, MaxEjectionTime: 35 * time.Second})
	ea := endpoint(t, b, a)
	var fors []time.Duration
	for range 5 {
		fail(ea, 2) // ejected at once after each return
		n := rec.take()
		if len(n) != 1 || n[0].Kind != Ejected {
			t.Fatalf("notes %v", n)
		}
		fors = append(fors, n[0].For)
		clk.advance(n[0].For)
		b.Tick(clk.now())
		rec.take()
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second, 35 * time.Second, 35 * time.Second}
	if !reflect.DeepEqual(fors, want) {
		t.Fatalf("ejection times %v, want %v", fors, want)
	}
	// Multiplier is 5; 3 bases in rotation take it down to 2, so the next
	// ejection is the 3rd step: 30s.
	clk.advance(3*base + time.Second)
	fail(ea, 2)
	if n := rec.take(); len(n) != 1 || n[0].For != 30*time.Second || n[0].Ejections != 3 {
		t.Fatalf("after decay: %+v", n)
	}
}

func TestMaxEjectionPercent(t *testing.T) {
	// 4 endpoints at 50%: the 1st (0% ejected) and 2nd (25%) go, the 3rd
	// (50% already out) is refused.
	b, clk, rec := newTest(t, []string{a, bb, c, d}, Config{ConsecutiveFailures: 1, BaseEjectionTime: time.Second})
	fail(endpoint(t, b, a), 1)
	clk.advance(time.Millisecond) // a returns first
	fail(endpoint(t, b, bb), 1)
	fail(endpoint(t, b, c), 1)
	n := rec.take()
	if len(n) != 2 || n[0].Addr != a || n[1].Addr != bb {
		t.Fatalf("notes %+v", n)
	}
	if got := picks(t, b, 4); !reflect.DeepEqual(got, []string{c, d, c, d}) {
		t.Fatalf("picks %v", got)
	}
	// When a returns, c's next failure ejects it (its count kept going).
	clk.set(time.Second)
	fail(endpoint(t, b, c), 1)
	n = rec.take()
	if len(n) != 2 || n[0].Kind != Restored || n[0].Addr != a || n[1].Kind != Ejected || n[1].Addr != c {
		t.Fatalf("notes %+v", n)
	}
}

func TestCapRoundsLikeEnvoy(t *testing.T) {
	// 3 endpoints at 50%: 0% and 33% are below the cap, so two of three
	// may be out; 67% is not.
	b, _, rec := newTest(t, []string{a, bb, c}, Config{ConsecutiveFailures: 1})
	for _, addr := range []string{a, bb, c} {
		fail(endpoint(t, b, addr), 1)
	}
	if n := rec.take(); len(n) != 2 {
		t.Fatalf("%d ejected, want 2: %+v", len(n), n)
	}
	if got := picks(t, b, 2); !reflect.DeepEqual(got, []string{c, c}) {
		t.Fatalf("picks %v", got)
	}
	// A small percentage still allows one ejection.
	b, _, rec = newTest(t, []string{a, bb, c}, Config{ConsecutiveFailures: 1, MaxEjectionPercent: 1})
	fail(endpoint(t, b, a), 1)
	fail(endpoint(t, b, bb), 1)
	if n := rec.take(); len(n) != 1 || n[0].Addr != a {
		t.Fatalf("notes %+v", n)
	}
}

func TestSingleEndpoint(t *testing.T) {
	b, _, rec := newTest(t, []string{a}, Config{ConsecutiveFailures: 1})
	fail(endpoint(t, b, a), 3)
	if n := rec.take(); len(n) != 0 {
		t.Fatalf("only endpoint ejected: %v", n)
	}
	b, _, rec = newTest(t, []string{a}, Config{ConsecutiveFailures: 1, MaxEjectionPercent: 100})
	fail(endpoint(t, b, a), 1)
	if n := rec.take(); len(n) != 1 {
		t.Fatalf("notes %v", n)
	}
	if _, err := b.Pick(); !errors.Is(err, ErrNoEndpoint) {
		t.Fatalf("Pick = %v, want ErrNoEndpoint", err)
	}
}

func TestDisabledEjection(t *testing.T) {
	b, _, rec := newTest(t, []string{a, bb}, Config{ConsecutiveFailures: -1})
	fail(endpoint(t, b, a), 100)
	if n := rec.take(); len(n) != 0 {
		t.Fatalf("ejected with ejection disabled: %v", n)
	}
}

func TestUpdateKeepsSurvivors(t *testing.T) {
	b, _, rec := newTest(t, []string{a, bb, c}, Config{ConsecutiveFailures: 1})
	eb := endpoint(t, b, bb)
	fail(eb, 1)
	inflight := pick(t, b) // a (bb is out)
	rec.take()
	if err := b.Update([]string{d, bb, a, d}); err != nil {
		t.Fatal(err)
	}
	st := b.Endpoints()
	if len(st) != 3 || st[0].Addr != d || st[1].Addr != bb || st[2].Addr != a {
		t.Fatalf("endpoints %+v", st)
	}
	if !st[1].Ejected || st[2].InFlight != 1 || endpoint(t, b, bb) != eb {
		t.Fatalf("survivor state lost: %+v", st)
	}
	// c was removed: its late outcomes are harmless.
	if err := b.Update([]string{d, bb}); err != nil {
		t.Fatal(err)
	}
	inflight.Done(errors.New("late"))
	if n := rec.take(); len(n) != 0 {
		t.Fatalf("removed endpoint ejected: %v", n)
	}
	if err := b.Update([]string{"no-port"}); err == nil {
		t.Fatal("invalid address accepted")
	}
	if len(b.Endpoints()) != 2 {
		t.Fatal("failed Update changed the set")
	}
	if err := b.Update(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Pick(); !errors.Is(err, ErrNoEndpoint) {
		t.Fatalf("Pick on empty set = %v", err)
	}
}

func TestDoneLowersInFlight(t *testing.T) {
	b, _, _ := newTest(t, []string{a}, Config{})
	e1, e2 := pick(t, b), pick(t, b)
	if e1 != e2 || e1.InFlight() != 2 {
		t.Fatalf("in flight %d", e1.InFlight())
	}
	e1.Done(nil)
	e2.Done(errors.New("x"))
	if st := b.Endpoints()[0]; st.InFlight != 0 || st.Failures != 1 || st.ConsecutiveFailures != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestParsePolicy(t *testing.T) {
	for name, want := range map[string]Policy{"": RoundRobin, "round_robin": RoundRobin, "p2c": P2C} {
		if got, err := ParsePolicy(name); err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := ParsePolicy("random"); err == nil {
		t.Error("unknown policy accepted")
	}
	if P2C.String() != "p2c" || RoundRobin.String() != "round_robin" {
		t.Error("String")
	}
	if _, err := New(nil, Config{Policy: 7}); err == nil {
		t.Error("New accepted an unknown policy")
	}
	if _, err := New(nil, Config{BaseEjectionTime: -1}); err == nil {
		t.Error("New accepted a negative time")
	}
}

// TestConcurrentPickAndReport runs picks, outcomes, ejections and
// restorations from many goroutines for the race detector, then checks
// the in-flight counts balance.
func TestConcurrentPickAndReport(t *testing.T) {
	clk := &clock{}
	var ejections, restores atomic.Int64
	b, err := New([]string{a, bb, c, d}, Config{
		Policy: P2C, ConsecutiveFailures: 2, BaseEjectionTime: time.Millisecond, Now: clk.now,
		Listener: func(n Notification) {
			if n.Kind == Ejected {
				ejections.Add(1)
			} else {
				restores.Add(1)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				e, err := b.Pick()
				if err != nil {
					t.Error(err)
					return
				}
				var fail error
				if e.Addr == a || (g+i)%7 == 0 {
					fail = errors.New("x")
				}
				clk.advance(50 * time.Microsecond)
				e.Done(fail)
			}
		}()
	}
	wg.Wait()
	clk.advance(time.Hour)
	b.Tick(clk.now())
	for _, st := range b.Endpoints() {
		if st.InFlight != 0 || st.Ejected {
			t.Fatalf("stats %+v", st)
		}
	}
	if ejections.Load() == 0 || ejections.Load() != restores.Load() {
		t.Fatalf("%d ejections, %d restorations", ejections.Load(), restores.Load())
	}
}
