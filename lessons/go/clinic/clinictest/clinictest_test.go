package clinictest

import (
	"strings"
	"testing"
)

func TestLinesOfOneInstantMayComeInAnyOrder(t *testing.T) {
	want := "[ 1.5s] lab: took it\n[ 1.5s] nurse: handed it over\n[ 2.0s] lab: done\n"
	swapped := "[ 1.5s] nurse: handed it over\n[ 1.5s] lab: took it\n[ 2.0s] lab: done\n"
	if problem := Difference(swapped, want); problem != "" {
		t.Errorf("one instant's lines in another order: %s", problem)
	}
	for name, got := range map[string]string{
		"a line of another instant": "[ 1.5s] lab: took it\n[ 2.0s] lab: done\n" +
			"[ 2.0s] nurse: handed it over\n",
		"another stamp":  strings.Replace(want, "[ 2.0s]", "[ 2.1s]", 1),
		"a line missing": "[ 1.5s] lab: took it\n[ 1.5s] nurse: handed it over\n",
		"a line more":    want + "[ 2.0s] lab: again\n",
		"another text":   strings.Replace(want, "done", "gone", 1),
	} {
		if Difference(got, want) == "" {
			t.Errorf("%s: no difference found", name)
		}
	}
	machine := "[ 0.1s] 1000 tasks took 12 MiB (varies by machine)\n"
	if problem := Difference(strings.Replace(machine, "12", "14", 1), machine); problem != "" {
		t.Errorf("a machine-dependent figure: %s", problem)
	}
}
