-- Drives a real Neovim through gepad's three editor flows, for tests/clients/test_nvim_e2e.py.
-- Reads GEPAD_E2E_FILE (the file to edit), writes results to GEPAD_E2E_OUT (JSON) and, after
-- saving, waits for GEPAD_E2E_FLAG (written by the test once the daemon holds the correction).
local out_path = assert(os.getenv('GEPAD_E2E_OUT'), 'GEPAD_E2E_OUT is not set')
local file = assert(os.getenv('GEPAD_E2E_FILE'), 'GEPAD_E2E_FILE is not set')
local flag = assert(os.getenv('GEPAD_E2E_FLAG'), 'GEPAD_E2E_FLAG is not set')
local results = { stage = 'starting' }

local function write_results()
  local f = assert(io.open(out_path .. '.tmp', 'w'))
  f:write(vim.json.encode(results))
  f:close()
  assert(os.rename(out_path .. '.tmp', out_path))
end

local got = {}
vim.api.nvim_create_autocmd('User', {
  pattern = 'GepadResult',
  callback = function(ev)
    table.insert(got, ev.data)
  end,
})

local function await(command, timeout_ms)
  local found
  vim.wait(timeout_ms, function()
    for i, d in ipairs(got) do
      if d.command == command then
        found = table.remove(got, i)
        return true
      end
    end
    return false
  end, 20)
  assert(found, command .. ' got no answer within ' .. timeout_ms .. ' ms')
  assert(found.err == nil or found.err == vim.NIL, command .. ' failed: ' .. vim.inspect(found.err))
  return found.result
end

local function run()
  local gepad = require('gepad')
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local t0 = vim.uv.hrtime()
  local attached = vim.wait(20000, function()
    local c = gepad.client(0)
    return c ~= nil and c.initialized == true
  end, 20)
  assert(attached, 'the gepad language server did not attach within 20 s')
  results.attach_ms = (vim.uv.hrtime() - t0) / 1e6
  results.stage = 'attached'

  -- 1. 👎 with a comment on a charwise selection: line 3 up to and including the first '.'.
  -- Escape leaves visual mode and sets '< '>, as typing ':' does.
  vim.cmd('normal! 3G0vf.\27')
  vim.cmd("'<,'>GepadThumbsDown too vague")
  results.thumbs_down = await('gepad.thumbsDown', 10000)
  results.stage = 'thumbs_down'

  -- 2. The assistant rewrites lines 4-5 (a linewise selection).
  vim.cmd('normal! 4GVj\27')
  vim.cmd("'<,'>GepadAssist rewrite this concisely")
  results.assist = await('gepad.assist', 30000)
  results.after_assist = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  results.stage = 'assisted'

  -- 3. The user retypes the first word of the generated text (it starts at line 4) and saves.
  -- (A pure insertion at the very edge of a generation counts as outside it, by design.)
  local first = vim.api.nvim_buf_get_lines(0, 3, 4, false)[1]
  local word_end = (first:find(' ', 1, true) or (#first + 1)) - 1
  assert(word_end > 0, 'the generated text starts with a space: ' .. vim.inspect(first))
  vim.api.nvim_buf_set_text(0, 3, 0, 3, word_end, { 'Briefly' })
  results.replaced_bytes = word_end
  vim.cmd('write')
  results.after_edit = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  results.statusline = gepad.statusline()

  -- 4. The prompt, in a read-only scratch buffer.
  local notes_win = vim.api.nvim_get_current_win()
  vim.cmd('GepadPrompt')
  results.prompt = await('gepad.prompt', 10000)
  local pbuf = vim.api.nvim_get_current_buf()
  results.prompt_buffer = {
    lines = vim.api.nvim_buf_get_lines(pbuf, 0, -1, false),
    modifiable = vim.bo[pbuf].modifiable,
    buftype = vim.bo[pbuf].buftype,
  }
  vim.cmd('close')
  assert(vim.api.nvim_get_current_win() == notes_win, 'closing the prompt left another window')

  -- 5. The daemon's status.
  vim.cmd('GepadStatus')
  results.status = await('gepad.status', 10000)

  -- 6. 👍 on line 1, by line number.
  vim.cmd('1GepadThumbsUp')
  results.thumbs_up = await('gepad.thumbsUp', 10000)

  -- 7. :GepadCorrect on the current line (3), then the user's edit inside it and a save.
  vim.api.nvim_win_set_cursor(0, { 3, 0 })
  vim.cmd('GepadCorrect wrong claim')
  results.correct = await('gepad.correct', 10000)
  local line3 = vim.api.nvim_buf_get_lines(0, 2, 3, false)[1]
  local at = assert(line3:find('fast', 1, true), 'line 3 lost its text: ' .. line3)
  vim.api.nvim_buf_set_text(0, 2, at - 1, 2, at + 3, { 'slow' })
  vim.cmd('write')
  results.line3_before = line3
  results.line3_after = vim.api.nvim_buf_get_lines(0, 2, 3, false)[1]
  results.stage = 'saved'
  write_results()

  local confirmed = vim.wait(30000, function()
    return vim.uv.fs_stat(flag) ~= nil
  end, 50)
  results.confirmed = confirmed
  -- 8. The test swapped in a new prompt (its version is in the flag file): the server's
  -- gepad/promptChanged notification reaches the statusline.
  local f = assert(io.open(flag))
  local expected = tonumber(f:read('*a'))
  f:close()
  local t_change = vim.uv.hrtime()
  results.prompt_changed = vim.wait(10000, function()
    local general = gepad.state().prompts.general
    return general ~= nil and general.version == expected
  end, 20)
  results.prompt_changed_ms = (vim.uv.hrtime() - t_change) / 1e6
  results.statusline_after_change = gepad.statusline()
  results.stage = 'done'
end

local ok, err = xpcall(run, debug.traceback)
results.ok = ok
if not ok then
  results.error = tostring(err)
end
write_results()
vim.cmd('qall!')
