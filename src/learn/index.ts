/** Online learning: update buffers, the label queue, active learning, drift, and the learner that ties them to a Detector. */
export { WindowBuffer, refKey, type WindowRef, type BufferedWindow, type WindowBufferOptions } from './buffers.js';
export { LabelQueue, readQueueFile, writeQueueFile, appendAnswers, parseKey, QUEUE_FILE, ANSWERS_FILE, type QueueItem, type LabelAnswer, type LabelQueueOptions, type RejectedAnswer, type AnswersRead } from './label-queue.js';
export { versionName, versionSequence, readVersionInfo, VERSION_FILE, LEDGER_FILE, BASE_VERSION, type VersionInfo } from './versions.js';
export { JOURNAL_FILE } from './journal.js';
export { PageHinkley, type PageHinkleyOptions, type DriftSignal } from './drift.js';
export { selectQueries, uncertainty, type Candidate } from './select.js';
export { ExpertSimulator, type ExpertSimulatorOptions } from './expert.js';
export { OnlineLearner, describeUpdate, type OnlineLearnerOptions, type FineTuneOptions, type UpdateRecord, type DriftEvent, type LabelOutcome, type LearnerStats } from './online.js';
export type { WeightTensor } from './finetune-protocol.js';
export { fitCalibration, normalizeScore, normalizeScores, readCalibration, writeCalibration, checkCalibration, CALIBRATION_FILE, MIN_SCALE, type ScoreCalibration } from '../score/calibration.js';
export { replayOnline, replayRocAuc, answersFromFiles, type Expert, type ReplayOptions, type ReplayResult } from './replay.js';
