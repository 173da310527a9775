// Setup
export {
  TiledeskHandoff,
  type TiledeskHandoffOptions,
  type HandoffRecognizer,
  type BotLogic,
} from './botbuilder';
export * from './common';
