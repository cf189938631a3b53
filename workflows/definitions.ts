// Typed update and query definitions over the shared names in core/temporal.ts.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import {
  QUERY_NAMES,
  UPDATE_NAMES,
  type ApplyArgs,
  type ApplyNowArgs,
  type ApproveArgs,
  type CommandResult,
  type RejectArgs,
  type RollbackArgs,
  type SuggestionState,
} from '../core/temporal.js';

export const approveUpdate = defineUpdate<CommandResult, [ApproveArgs]>(UPDATE_NAMES.approve);
export const rejectUpdate = defineUpdate<CommandResult, [RejectArgs]>(UPDATE_NAMES.reject);
export const applyUpdate = defineUpdate<CommandResult, [ApplyArgs]>(UPDATE_NAMES.apply);
export const rollbackUpdate = defineUpdate<CommandResult, [RollbackArgs]>(UPDATE_NAMES.rollback);
export const applyNowUpdate = defineUpdate<CommandResult, [ApplyNowArgs]>(UPDATE_NAMES.applyNow);
export const stateQuery = defineQuery<SuggestionState>(QUERY_NAMES.state);
