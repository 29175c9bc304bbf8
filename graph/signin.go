package graph

// isSignIn reports whether the Mutation field name checks a password, for
// ratelimit.SignInOnce.
func isSignIn(name string) bool { return name == "authWithPassword" }
