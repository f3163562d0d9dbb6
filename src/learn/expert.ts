/**
 * A simulated expert for benchmarks: answers the learner's questions from ground truth, with a
 * budget (answers per period) and a delay (the answer arrives some windows after the question),
 * and answers late questions not at all once the budget is spent, as a busy person would.
 */
import type { WindowRef } from './buffers.js';
import type { QueueItem } from './label-queue.js';
import type { OnlineLearner } from './online.js';

/** Options of {@link ExpertSimulator}. */
export interface ExpertSimulatorOptions {
  /** Ground truth of a window: true anomaly, false normal. */
  truth: (ref: WindowRef) => boolean;
  /** Answers given per period at most; questions beyond it go unanswered. Default: unlimited. */
  budget?: number;
  /** Period of the budget, in windows scored. Default 1024. */
  period?: number;
  /** Windows scored between a question and its answer. Default 0 (answered at the next `tick`). */
  delay?: number;
}

/** Answers the questions an {@link OnlineLearner} asks, from ground truth. */
export class ExpertSimulator {
  private readonly truth: (ref: WindowRef) => boolean;
  private readonly budget: number;
  private readonly period: number;
  private readonly delay: number;
  private readonly waiting: { item: QueueItem; due: number }[] = [];
  private periodIndex = -1;
  private spent = 0;
  /** Answers given. */
  answered = 0;
  /** Questions left unanswered for lack of budget. */
  declined = 0;

  constructor(options: ExpertSimulatorOptions) {
    this.truth = options.truth;
    this.budget = options.budget ?? Infinity;
    this.period = options.period ?? 1024;
    this.delay = options.delay ?? 0;
  }

  /** Takes a question (wire to `OnlineLearner`'s `onQuery`). */
  ask(item: QueueItem): void {
    const p = Math.floor(item.askedAt / this.period);
    if (p !== this.periodIndex) {
      this.periodIndex = p;
      this.spent = 0;
    }
    if (this.spent >= this.budget) {
      this.declined++;
      return;
    }
    this.spent++;
    this.waiting.push({ item, due: item.askedAt + this.delay });
  }

  /**
   * Takes a question asked before this expert existed (left pending by an earlier run and resumed
   * by the learner): answered `delay` windows into this run, outside the budget (it was spent on
   * it when it was asked).
   */
  resume(item: QueueItem): void {
    this.waiting.push({ item, due: this.delay });
    this.waiting.sort((a, b) => a.due - b.due);
  }

  /** Gives the answers that are due at stream position `position` (windows scored). */
  tick(learner: OnlineLearner, position: number): number {
    let n = 0;
    while (this.waiting.length > 0 && this.waiting[0]!.due <= position) {
      const { item } = this.waiting.shift()!;
      learner.label(item.ref, this.truth(item.ref));
      this.answered++;
      n++;
    }
    return n;
  }

  /** Questions asked and not yet answered. */
  get outstanding(): number {
    return this.waiting.length;
  }
}
