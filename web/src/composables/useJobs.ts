// The job catalog, loaded once and on refresh: filters list the jobs with healing enabled.
import { computed, ref } from 'vue';
import { jobsApi } from '../api/jobs';
import { messageOf } from '../api/http';
import type { Job, JobLoadError } from '../api/types';

const jobs = ref<Job[]>([]);
const loadErrors = ref<JobLoadError[]>([]);
const loading = ref(false);
const loaded = ref(false);
const error = ref<string | null>(null);
let inflight: Promise<void> | null = null;

async function load(): Promise<void> {
  if (inflight) return inflight;
  loading.value = true;
  inflight = (async () => {
    try {
      const answer = await jobsApi.list();
      jobs.value = answer.jobs;
      loadErrors.value = answer.errors ?? [];
      error.value = null;
    } catch (e) {
      error.value = messageOf(e);
    } finally {
      loading.value = false;
      loaded.value = true;
      inflight = null;
    }
  })();
  return inflight;
}

export function useJobs() {
  const healingJobs = computed(() => jobs.value.filter((j) => j.self_healing?.enabled));
  return { jobs, healingJobs, loadErrors, loading, loaded, error, load };
}
