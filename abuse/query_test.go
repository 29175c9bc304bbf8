package abuse

// queryAttacks lists the cases of this group (harness_test.go runs them).
func queryAttacks() []attack {
	return []attack{}
}
