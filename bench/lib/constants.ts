/** The task queue of the empty baseline workflow. */
export const EMPTY_TASK_QUEUE = 'bench-empty';
