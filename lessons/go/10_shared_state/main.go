// Lesson 10 in Go: who owns the patient registry.
//
// The twin of lessons/src/bin/10_shared_state.rs. Go's sync.Mutex sits beside
// the map: forgetting it, or holding it across the write, compiles, and only
// `-race` may catch a race. Letting go for the write races as in Rust. Or the
// proverb, "share memory by communicating": a goroutine owns the map.
//
// Run: go run ./lessons/go/10_shared_state      (go test ./lessons/go/10_shared_state: fake clock)
package main

import (
	"iter"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"async-clinic/lessons/go/clinic"
)

// registry maps a patient's number to their enrolment number.
type registry struct {
	mu       sync.Mutex
	patients map[int]int
}

func newRegistry() *registry { return &registry{patients: map[int]int{}} }

func main() {
	clinic.Main(run)
}

func run() {
	clinic.Say("-- 1000 patients enrol at once, a goroutine each, on 2 threads")
	previous := runtime.GOMAXPROCS(2)
	registered, numbers, counted := sharedMap()
	clinic.Say("sync.Mutex beside a map: %d patients, %d distinct numbers", registered, numbers)
	clinic.Say("atomic.Int64: %d enrolments counted, no lock taken", counted)
	numbers = actorMap()
	clinic.Say("registry goroutine: %d distinct numbers, answered over a channel", numbers)
	runtime.GOMAXPROCS(previous)
	clinic.Say("-- 10 patients enrol; each enrolment also awaits a 0.1 s database write")
	numbers = tenPatients(enrolLockReleased)
	clinic.Say("lock let go for the write, taken again: %d of 10 numbers distinct", numbers)
	numbers = tenPatients(enrol)
	clinic.Say("read and recorded under one lock: %d of 10 numbers distinct", numbers)
}

// ANCHOR: shared_map
func sharedMap() (int, int, int64) {
	registry := newRegistry()
	var enrolled atomic.Int64
	var tasks sync.WaitGroup
	for patient := 1; patient <= 1000; patient++ {
		tasks.Go(func() {
			registry.mu.Lock()
			number := len(registry.patients) + 1
			registry.patients[patient] = number
			registry.mu.Unlock()
			enrolled.Add(1)
		})
	}
	tasks.Wait()
	numbers := distinct(maps.Values(registry.patients))
	return len(registry.patients), numbers, enrolled.Load()
}

// ANCHOR_END: shared_map

// ANCHOR: lock_released
// enrolLockReleased lets go for the write and locks again to record: every
// goroutine reads the count before any has recorded, so all get one number.
func enrolLockReleased(registry *registry, patient int) {
	registry.mu.Lock()
	number := len(registry.patients) + 1
	registry.mu.Unlock()
	time.Sleep(100 * time.Millisecond) // the database write
	registry.mu.Lock()
	registry.patients[patient] = number
	registry.mu.Unlock()
}

// enrol reads and records in one critical section, then writes.
func enrol(registry *registry, patient int) {
	registry.mu.Lock()
	number := len(registry.patients) + 1
	registry.patients[patient] = number
	// Go would let the lock stay held across the write; Rust would not.
	registry.mu.Unlock()
	time.Sleep(100 * time.Millisecond) // the database write
}

// ANCHOR_END: lock_released

func tenPatients(enrol func(*registry, int)) int {
	registry := newRegistry()
	var tasks sync.WaitGroup
	for patient := 1; patient <= 10; patient++ {
		tasks.Go(func() { enrol(registry, patient) })
	}
	tasks.Wait()
	return distinct(maps.Values(registry.patients))
}

func distinct(numbers iter.Seq[int]) int {
	seen := map[int]bool{}
	for number := range numbers {
		seen[number] = true
	}
	return len(seen)
}

// ANCHOR: actor
// enrolment is a question for the registry's owner, and where to answer.
type enrolment struct {
	patient int
	reply   chan<- int
}

// registryOwner owns the map: no lock, for no other goroutine can reach it.
func registryOwner(inbox <-chan enrolment) {
	patients := map[int]int{}
	for question := range inbox {
		number := len(patients) + 1
		patients[question.patient] = number
		// Room for one answer: the send never waits, even for an asker gone.
		question.reply <- number
	}
}

func actorMap() int {
	inbox := make(chan enrolment, 64)
	go registryOwner(inbox)
	numbers := make([]int, 1000)
	var asking sync.WaitGroup
	for patient := 1; patient <= 1000; patient++ {
		asking.Go(func() {
			reply := make(chan int, 1)
			inbox <- enrolment{patient, reply}
			numbers[patient-1] = <-reply
		})
	}
	asking.Wait()
	close(inbox) // ends the owner's loop, as dropping the last Sender does
	return distinct(slices.Values(numbers))
}

// ANCHOR_END: actor
