package health

// CheckNow asks a checker to probe at once (or to join the probe in
// flight); the reply, once the probe is done, is a *CheckResult. The result
// counts towards the thresholds like any other, and the next scheduled
// probe is one interval after it.
type CheckNow struct{}

// CheckResult is the reply to CheckNow. Err, when set, says why there is
// no result (ErrNotRunning: the checker stopped before its probe ended);
// the probe's own failure is Result.Err.
type CheckResult struct {
	Result Result
	Err    error
}

// GetStatus asks a checker for its snapshot; the reply is a *StatusResult.
type GetStatus struct{}

// StatusResult is the reply to GetStatus.
type StatusResult struct {
	Snapshot Snapshot
}
