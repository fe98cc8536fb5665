package supervisor

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The tree carries each supervisor's restart intensity, so that an
// observer (the dashboard) can show a child's restarts against its
// supervisor's budget; workers carry none.
func TestTreeShowsSupervisorIntensity(t *testing.T) {
	tr := newTree(t, Config{MaxRestarts: 5, Window: 10 * time.Second},
		Config{Strategy: RestForOne, MaxRestarts: 2, Window: 3 * time.Second, IntensityPerChild: true}, three)
	tree := tr.env.Directory.Tree()
	if tree.Intensity == nil || *tree.Intensity != (Intensity{Strategy: OneForOne, MaxRestarts: 5, Window: 10 * time.Second}) {
		t.Fatalf("root intensity = %+v", tree.Intensity)
	}
	sut := tree.Children[0]
	if sut.Name != "sut" || sut.Intensity == nil ||
		*sut.Intensity != (Intensity{Strategy: RestForOne, MaxRestarts: 2, Window: 3 * time.Second, PerChild: true}) {
		t.Fatalf("sut = %+v intensity %+v", sut, sut.Intensity)
	}
	for _, k := range sut.Children {
		if k.Intensity != nil {
			t.Fatalf("worker %s has an intensity: %+v", k.Name, k.Intensity)
		}
	}

	// Kept across a restart of a child.
	tr.crash("sut/a", "boom")
	tr.events.wait(t, 1, restartedName("sut/a"))
	tr.ping("sut/a")
	tree = tr.env.Directory.Tree()
	if sut = tree.Children[0]; sut.Intensity == nil || sut.Intensity.MaxRestarts != 2 || sut.Children[0].Restarts != 1 {
		t.Fatalf("after restart: sut %+v, a %+v", sut.Intensity, sut.Children[0])
	}

	b, err := json.Marshal(sut)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"intensity":{"strategy":"rest_for_one","max_restarts":2,"window_ns":3000000000,"per_child":true}`; !strings.Contains(string(b), want) {
		t.Fatalf("json %s lacks %s", b, want)
	}
}
