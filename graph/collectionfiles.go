package graph

import (
	"context"
	"log/slog"
)

// collectionIDs returns the ids of the current collections.
func (r *Resolver) collectionIDs() map[string]bool {
	ids := map[string]bool{}
	for _, c := range r.db.Collections() {
		ids[c.ID] = true
	}
	return ids
}

// deleteGoneCollectionFiles deletes the stored files of the collections of
// before that no longer exist, once their deletion is committed. A failure
// is logged: the files cleanup job (files.Store.Sweep) removes what is
// left.
func (r *Resolver) deleteGoneCollectionFiles(ctx context.Context, before map[string]bool) {
	if r.files == nil {
		return
	}
	for id := range before {
		if _, err := r.db.Collection(id); err == nil {
			continue
		}
		if err := r.files.DeleteCollection(context.WithoutCancel(ctx), id); err != nil {
			slog.ErrorContext(ctx, "delete the files of a deleted collection", "collection", id, "err", err)
		}
	}
}
