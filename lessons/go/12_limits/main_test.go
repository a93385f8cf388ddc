package main

import (
	"testing"

	"async-clinic/lessons/go/clinic/clinictest"
)

func TestTranscript(t *testing.T) {
	clinictest.Transcript(t, run)
}
