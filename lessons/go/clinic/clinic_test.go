package clinic

import (
	"testing"
	"time"
)

// The same cases as the Rust harness's tests (lessons/src/lib.rs), so a
// twin's stamps and waits read exactly as its Rust lesson's do.
func TestStampsRoundToATenth(t *testing.T) {
	for d, want := range map[time.Duration]string{
		Ms(0):      "[ 0.0s]",
		Ms(2_004):  "[ 2.0s]",
		Ms(1_960):  "[ 2.0s]",
		Ms(12_500): "[12.5s]",
	} {
		if got := Stamp(d); got != want {
			t.Errorf("Stamp(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestMeasuredWaitsRoundToTheHalfSecond(t *testing.T) {
	for d, want := range map[time.Duration]float64{
		Ms(1_500): 1.5,
		Ms(1_700): 1.5, // a timer 0.2 s late still reads as planned...
		Ms(220):   0,
		Ms(1_800): 2, // ...but a wait of another length is not hidden
	} {
		if got := HalfSeconds(d); got != want {
			t.Errorf("HalfSeconds(%v) = %v, want %v", d, got, want)
		}
	}
}
