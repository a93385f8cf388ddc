package main

import (
	"testing"

	"async-clinic/lessons/go/clinic/clinictest"
)

// The first loop's goroutine that took P-003 is still blocked on its send
// when run returns: the lost report, held for good.
func TestTranscript(t *testing.T) {
	clinictest.Transcript(t, run, clinictest.LeftBlocked(1))
}
