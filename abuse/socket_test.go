package abuse

// socketAttacks lists the cases of this group (harness_test.go runs them).
func socketAttacks() []attack {
	return []attack{}
}
