/** Postgres enums shared across aggregates; their values are part of the public contract. */
import { pgEnum } from 'drizzle-orm/pg-core';

export const regionLevel = pgEnum('region_level', ['CITY', 'DISTRICT', 'STREET', 'COMMUNITY']);
export const userRole = pgEnum('user_role', ['ADMIN', 'COMMANDER', 'DEPARTMENT', 'WORKER', 'SUPERVISOR']);
export const categoryKind = pgEnum('category_kind', ['COMPONENT', 'EVENT']);
export const casePriority = pgEnum('case_priority', ['NORMAL', 'HIGH', 'URGENT']);
export const caseStatus = pgEnum('case_status', [
  'REPORTED',
  'FILED',
  'DISPATCHED',
  'IN_PROGRESS',
  'RESOLVED',
  'CLOSED',
  'REJECTED',
]);
export const caseSource = pgEnum('case_source', ['WORKER', 'COMMANDER', 'SENSOR', 'OPEN311', 'HOTLINE']);
export const rejectReason = pgEnum('reject_reason', ['INVALID', 'DUPLICATE', 'OUT_OF_SCOPE']);
export const deadlineStage = pgEnum('deadline_stage', ['FILE', 'DISPATCH', 'HANDLE', 'VERIFY']);
export const sensorStatus = pgEnum('sensor_status', ['UNKNOWN', 'ONLINE', 'OFFLINE']);
export const alarmCondition = pgEnum('alarm_condition', ['ABOVE', 'BELOW', 'OUTSIDE']);
export const alarmSeverity = pgEnum('alarm_severity', ['INFO', 'WARNING', 'CRITICAL']);
export const alarmStatus = pgEnum('alarm_status', ['ACTIVE', 'ACKNOWLEDGED', 'CLEARED']);
export const alarmKind = pgEnum('alarm_kind', ['THRESHOLD', 'OFFLINE']);

export type RegionLevel = (typeof regionLevel.enumValues)[number];
export type UserRole = (typeof userRole.enumValues)[number];
export type CategoryKind = (typeof categoryKind.enumValues)[number];
export type CasePriority = (typeof casePriority.enumValues)[number];
export type CaseStatus = (typeof caseStatus.enumValues)[number];
export type CaseSource = (typeof caseSource.enumValues)[number];
export type RejectReason = (typeof rejectReason.enumValues)[number];
export type DeadlineStage = (typeof deadlineStage.enumValues)[number];
export type SensorStatus = (typeof sensorStatus.enumValues)[number];
export type AlarmCondition = (typeof alarmCondition.enumValues)[number];
export type AlarmSeverity = (typeof alarmSeverity.enumValues)[number];
export type AlarmStatus = (typeof alarmStatus.enumValues)[number];
export type AlarmKind = (typeof alarmKind.enumValues)[number];
