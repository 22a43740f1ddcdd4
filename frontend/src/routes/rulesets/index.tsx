import { Route, Routes } from 'react-router';
import { RulesetList } from './RulesetList';
import { RulesetPage } from './RulesetPage';

/** /rulesets, /rulesets/new, /rulesets/:rulesetId?tab=yaml|builder|history|dry-run (&from=&to= for the diff) */
export default function RulesetsScreen() {
  return (
    <Routes>
      <Route index element={<RulesetList />} />
      <Route path="new" element={<RulesetPage />} />
      <Route path=":rulesetId" element={<RulesetPage key="existing" />} />
    </Routes>
  );
}
