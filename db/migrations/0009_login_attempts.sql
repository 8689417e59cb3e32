-- Sign-in attempts counted in the database, so that every server instance counts against the same
-- limit (server/src/domain/auth/rate-limit.ts); before, each instance counted its own.
CREATE TABLE "login_attempts" (
	"key" text PRIMARY KEY NOT NULL,
	"attempts" integer NOT NULL,
	"reset_at" timestamp with time zone NOT NULL
);
