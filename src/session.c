/* placeholder: section under construction */
