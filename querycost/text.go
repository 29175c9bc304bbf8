package querycost

import "strconv"

func itoa(n int) string { return strconv.Itoa(n) }

// truncate cuts s to at most n bytes (on a rune boundary), marking the cut
// with "…", so that no error message echoes a long piece of the request.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}

// TruncateMessage cuts an error message to maxMessage bytes: error
// presenters use it so that no message echoes a long piece of a request
// (a parse error quotes the token it stopped at).
func TruncateMessage(s string) string { return truncate(s, maxMessage) }

// maxMessage is the longest error message a client is sent.
const maxMessage = 512
