package dynschema

import (
	"github.com/monobase/monobase/db"
)

// fieldKind says how an output field of a record type is resolved and
// serialised.
type fieldKind uint8

const (
	fkID         fieldKind = iota // string
	fkString                      // string
	fkEmail                       // string, shown per emailVisibility
	fkDateTime                    // string (RFC 3339)
	fkFloat                       // float64
	fkInt                         // float64 written as an integer
	fkBool                        // bool
	fkEnum                        // string, one of enum
	fkStringList                  // []string (multi select without enum)
	fkEnumList                    // []string of enum values
	fkJSON                        // any
	fkGeo                         // db.GeoPoint
	fkFile                        // string (file name)
	fkFileList                    // []string
	fkRelID                       // string (relation id)
	fkRelIDList                   // []string
	fkRel                         // the related record
	fkRelList                     // the related records
	fkBack                        // back-relation: records of another collection pointing here
	fkTypename                    // __typename (not stored in fields)
)

// fieldPlan is one output field of a record type.
type fieldPlan struct {
	name       string
	kind       fieldKind
	col        string    // key in db.Record
	field      *db.Field // nil for back-relations
	nonNull    bool
	zeroIfNull bool            // auth system booleans read false when unset
	enum       map[string]bool // fkEnum, fkEnumList
	target     *objType        // fkRel, fkRelList, fkBack: the type of the related records
	via        *db.Field       // fkBack: the relation field of target that points here
}

// isList reports whether the field has list arguments (limit etc.).
func (p *fieldPlan) isList() bool { return p.kind == fkBack }

// inKind says how a where/orderBy/input field is interpreted.
type inKind uint8

const (
	inScalar   inKind = iota // a plain value of the field
	inRelation               // a relation: nested Where / OrderBy of target
	inInc                    // update: <num>Increment
	inAppend                 // update: <multi>Append
	inRemove                 // update: <multi>Remove
	inPassword               // auth: password, passwordConfirm, oldPassword (plain text)
	inNested                 // create and update: <relation>Create, records of target to create (nested.go)
)

// inPlan is one field of a Where, OrderBy, create or update input.
type inPlan struct {
	kind   inKind
	col    string // the db field name
	field  *db.Field
	multi  bool     // multi-value field (any-of semantics in where)
	target *objType // inRelation, inNested
	upload bool     // a FILE field: the value is graphql.Upload(s), converted by asUpload
}

// objType is the compiled plan of one collection's GraphQL type.
type objType struct {
	name      string
	coll      *db.Collection
	n         collNames
	fields    map[string]*fieldPlan
	satisfies []string
	isAuth    bool
	readOnly  bool // VIEW collections: no mutations or subscriptions

	where   map[string]*inPlan
	orderBy map[string]*inPlan
	create  map[string]*inPlan
	update  map[string]*inPlan
	numbers []*db.Field // NUMBER fields for aggregates
	files   bool        // it has a FILE field: its inputs may carry uploads
	group   *groupPlan  // <list>GroupBy (groupby.go); nil: none
}

// rootKind says what a root field does.
type rootKind uint8

const (
	rkSingle rootKind = iota
	rkList
	rkAggregate
	rkGroupBy // <list>GroupBy (groupby.go)
	rkConnection
	rkMe
	rkCreate
	rkUpdate
	rkDelete
	rkAuthPassword
	rkAuthRefresh
	rkFileToken
	rkChanged
	rkRequestVerification
	rkConfirmVerification
	rkRequestPasswordReset
	rkConfirmPasswordReset
	rkRequestEmailChange
	rkConfirmEmailChange
	rkRequestOtp
	rkAuthOtp
	rkAuthMethods  // <user>AuthMethods (exec_oauth2.go)
	rkAuthOAuth2   // <user>AuthWithOAuth2
	rkUnlinkOAuth2 // <user>UnlinkOAuth2
)

// rootField is a root field of Query, Mutation or Subscription.
type rootField struct {
	kind rootKind
	t    *objType
}

// model is everything compiled from one set of collections.
type model struct {
	types        map[string]*objType // by GraphQL type name
	byColl       map[string]*objType // by collection id
	query        map[string]*rootField
	mutation     map[string]*rootField
	subscription map[string]*rootField
	sdl          string
	fragments    []string             // per collection: its types and root fields (as root type extensions), parsed and cached
	roots        string               // the root types without the collections' fields
	custom       map[string]*extField // the Go schema extensions' root fields by "Root.name" (extend.go)
}
