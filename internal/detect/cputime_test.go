package detect

import (
	"reflect"
	"runtime"
	"syscall"
	"testing"
)

// cpuTime is the CPU time of the calling OS thread. Benchmarks lock their goroutine to its
// thread and report rates per CPU-second of that thread, which stay meaningful when other
// work shares the machine (wall-clock rates do not).
type cpuTime float64

const rusageThread = 1 // RUSAGE_THREAD on Linux

func cpuNow() cpuTime {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return cpuTime(tv(ru.Utime) + tv(ru.Stime))
}

func (c cpuTime) sub(start cpuTime) float64 { return float64(c - start) }

// lockThread pins the benchmark to one thread for cpuNow; call its result when done.
func lockThread(b *testing.B) cpuTime {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	return cpuNow()
}

func reflectTypeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }
